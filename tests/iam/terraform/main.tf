# Terraform's AWS provider managing idbroker's directory through the IAM API (tests/iam_api.rs).
# The endpoint and keys come from variables; the trust policy's principal is a variable so that
# a second apply changes it in place.
variable "endpoint" { type = string }
variable "trusted" { type = string }

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
  endpoints {
    iam = var.endpoint
    sts = var.endpoint
  }
}

resource "aws_iam_role" "deployer" {
  name = "TerraformDeployer"
  path = "/tf/"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = var.trusted }, Action = "sts:AssumeRole" }]
  })
  description = "made by terraform"
  tags        = { owner = "platform" }
}

resource "aws_iam_policy" "read" {
  name   = "TerraformRead"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "arn:aws:s3:::reports/*" }]
  })
}

resource "aws_iam_role_policy_attachment" "read" {
  role       = aws_iam_role.deployer.name
  policy_arn = aws_iam_policy.read.arn
}

resource "aws_iam_user" "bot" {
  name = "terraform-bot"
}

resource "aws_iam_group" "ops" {
  name = "terraform-ops"
}

resource "aws_iam_user_group_membership" "bot" {
  user   = aws_iam_user.bot.name
  groups = [aws_iam_group.ops.name]
}

output "role_arn" { value = aws_iam_role.deployer.arn }
