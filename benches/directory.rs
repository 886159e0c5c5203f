//! What one directory change costs besides the database: building and validating the whole
//! directory (`Directory::build`, every policy parsed with IAM's rules, every reference
//! resolved), which every IAM write and every replica's reload does, at the size of a large
//! account: 1,000 roles (trust policy, 2 attached and 1 inline policy each), 1,000 users (2
//! groups, 1 access key each), 50 groups, 200 managed policies. Also the plan between two such
//! directories (`idbroker directory diff`).
//!
//!   cargo bench --bench directory

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion};
use idbroker::directory::{plan::plan, Directory, DirectoryDoc};

const ACCOUNT: &str = "123456789012";

fn large() -> DirectoryDoc {
    let mut t = format!("account_id = \"{ACCOUNT}\"\n");
    for i in 0..200 {
        t.push_str(&format!(
            "[[managed_policies]]\nname = \"P{i}\"\ndocument = '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:ListBucket\"],\"Resource\":\"arn:aws:s3:::bucket-{i}/*\",\"Condition\":{{\"StringEquals\":{{\"aws:PrincipalTag/team\":\"t{i}\"}}}}}}]}}'\n"
        ));
    }
    for g in 0..50 {
        t.push_str(&format!(
            "[[groups]]\nname = \"G{g}\"\npolicies = [\"arn:aws:iam::{ACCOUNT}:policy/P{g}\"]\n"
        ));
    }
    for u in 0..1000 {
        t.push_str(&format!(
            "[[users]]\nname = \"u{u}\"\ngroups = [\"G{}\", \"G{}\"]\n[[users.access_keys]]\nid = \"AKIA{u:016}\"\nsecret = {{ value = \"secretsecretsecretsecretsecretsecret{u:04}\" }}\n",
            u % 50,
            (u + 1) % 50
        ));
    }
    for r in 0..1000 {
        t.push_str(&format!(
            "[[roles]]\nname = \"R{r}\"\npath = \"/team{}/\"\npolicies = [\"arn:aws:iam::{ACCOUNT}:policy/P{}\", \"arn:aws:iam::{ACCOUNT}:policy/P{}\"]\ninline_policies = {{ extra = '{{\"Version\":\"2012-10-17\",\"Statement\":{{\"Effect\":\"Deny\",\"Action\":\"s3:DeleteObject\",\"Resource\":\"*\"}}}}' }}\ntrust_policy = '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"arn:aws:iam::{ACCOUNT}:user/u{r}\"}},\"Action\":\"sts:AssumeRole\"}}]}}'\n",
            r % 10,
            r % 200,
            (r + 7) % 200
        ));
    }
    toml::from_str(&t).unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let doc = large();
    let build = |d: &DirectoryDoc| {
        Directory::build(d, &mut |r, _, _| {
            Ok(zeroize::Zeroizing::new(r.value.clone().unwrap_or_default()))
        })
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let built = build(&doc);
    assert_eq!(built.counts(), (1000, 1000, 200));
    let mut g = c.benchmark_group("directory");
    g.sample_size(20);
    g.bench_function("build/1000-roles-1000-users-200-policies", |b| {
        b.iter(|| build(&doc))
    });
    let mut changed = doc.clone();
    if let Some(r) = changed.roles.get_mut(500) {
        r.description = "changed".into();
    }
    g.bench_function("plan/one-change-in-2250-entities", |b| {
        b.iter(|| plan(&doc, &changed))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
