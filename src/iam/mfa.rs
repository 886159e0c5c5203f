//! Virtual MFA devices: CreateVirtualMFADevice, EnableMFADevice, ResyncMFADevice,
//! DeactivateMFADevice, DeleteVirtualMFADevice, ListMFADevices, ListVirtualMFADevices (the
//! directory's `[[mfa_devices]]`). A device's serial number is its ARN,
//! `arn:aws:iam::ACCOUNT:mfa/PATH+NAME`. Its seed is made here, sealed (bound to the serial
//! number) before it enters the directory, and answered once, by CreateVirtualMFADevice (as
//! Base32 and as a QR code PNG). Enabling and resynchronizing take two consecutive codes
//! ([`crate::mfa::totp::find_pair`], within ±[`RESYNC_WINDOW`] steps of now) and record the
//! device's drift; the two steps they use are marked used in the session store by the caller
//! ([`spent_codes`]), so that they cannot sign in afterwards.
//!
//! Authorization (`iam:ACTION`) is on the device's ARN for CreateVirtualMFADevice and
//! DeleteVirtualMFADevice, on the user's ARN for EnableMFADevice, ResyncMFADevice,
//! DeactivateMFADevice and ListMFADevices, on `*` for ListVirtualMFADevices, as IAM names them.

use zeroize::Zeroizing;

use super::common::{self, invalid};
use super::entities::created;
use super::users::entity;
use super::{Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::{RawMfaDevice, MFA_DEVICES_PER_USER};
use crate::mfa::totp::{self, Code, RESYNC_WINDOW};

#[cfg(test)]
mod tests;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateVirtualMFADevice",
        effect: Effect::Write,
    },
    Call {
        action: "EnableMFADevice",
        effect: Effect::Write,
    },
    Call {
        action: "ResyncMFADevice",
        effect: Effect::Write,
    },
    Call {
        action: "DeactivateMFADevice",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteVirtualMFADevice",
        effect: Effect::Write,
    },
    Call {
        action: "ListMFADevices",
        effect: Effect::Read,
    },
    Call {
        action: "ListVirtualMFADevices",
        effect: Effect::Read,
    },
];

/// The longest device name (IAM's).
const MAX_NAME: usize = 226;

/// What EnableMFADevice or ResyncMFADevice accepted: the device, and the two steps its codes
/// were (each accepted once: the caller marks them used before the change is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentCodes {
    /// The device's serial number.
    pub serial: String,
    /// The steps of the two codes.
    pub steps: [i64; 2],
}

/// The resource a call of this family is authorized on.
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<String> {
    match call.action {
        "CreateVirtualMFADevice" => {
            let path = input.get("Path").unwrap_or("/");
            let name = input.get("VirtualMFADeviceName").unwrap_or_default();
            Some(common::arn(doc, "mfa", path, name))
        }
        "DeleteVirtualMFADevice" => input.get("SerialNumber").map(str::to_owned),
        "EnableMFADevice" | "ResyncMFADevice" | "DeactivateMFADevice" | "ListMFADevices" => {
            let name = entity::user_name_or_caller_unchecked(input, ctx)?;
            Some(entity::user_arn(doc, name))
        }
        _ => None,
    }
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "ListMFADevices" => list_mfa_devices(input, doc, ctx),
        "ListVirtualMFADevices" => list_virtual_mfa_devices(input, doc),
        _ => return None,
    })
}

/// Run a writing call of this family on `doc` (`None`: not one of its writing calls).
pub(super) fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "CreateVirtualMFADevice" => create(input, doc, ctx),
        "EnableMFADevice" => enable(input, doc, ctx),
        "ResyncMFADevice" => resync(input, doc, ctx),
        "DeactivateMFADevice" => deactivate(input, doc, ctx),
        "DeleteVirtualMFADevice" => delete(input, doc),
        _ => return None,
    })
}

/// The codes EnableMFADevice or ResyncMFADevice would accept, checked as the call checks them
/// (the same errors, in the same order), without changing anything: `None` for other calls.
pub(super) fn spent_codes(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Option<SpentCodes>, IamError> {
    match call.action {
        "EnableMFADevice" => enable_check(input, doc, ctx).map(|(_, _, spent, _)| Some(spent)),
        "ResyncMFADevice" => resync_check(input, doc, ctx).map(|(_, spent, _)| Some(spent)),
        _ => Ok(None),
    }
}

fn no_device(serial: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
}

fn not_the_users() -> IamError {
    IamError::NoSuchEntity("MFA Device invalid for user.".into())
}

fn invalid_codes() -> IamError {
    IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".into())
}

/// `SerialNumber`: 9..256 characters of `[\w+=/:,.@-]`.
fn serial_number<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    let v = input.required("SerialNumber", "serialNumber")?;
    if !(9..=256).contains(&v.len()) {
        return Err(invalid(
            v,
            "serialNumber",
            "Member must have length greater than or equal to 9 and less than or equal to 256",
        ));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c))
    {
        return Err(invalid(
            v,
            "serialNumber",
            "Member must satisfy regular expression pattern: [\\w+=/:,.@-]+",
        ));
    }
    Ok(v)
}

/// `AuthenticationCode1` / `2`: six digits (the value is not repeated in the message: a code is
/// a secret, if a short-lived one).
fn auth_code(input: &Input<'_>, param: &str, member: &str) -> Result<Code, IamError> {
    let v = input.required(param, member)?;
    Code::parse(v).map_err(|e| {
        IamError::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: {}",
            match e {
                totp::CodeError::Length =>
                    "Member must have length greater than or equal to 6 and less than or equal to 6",
                totp::CodeError::Pattern => "Member must satisfy regular expression pattern: [\\d]+",
            }
        ))
    })
}

/// The index of the device whose serial number is `serial` (exactly).
fn device_index(doc: &DirectoryDoc, serial: &str) -> Result<usize, IamError> {
    doc.mfa_devices
        .iter()
        .position(|d| d.serial(&doc.account_id) == serial)
        .ok_or_else(|| no_device(serial))
}

/// Two consecutive codes of the device at `index` within ±[`RESYNC_WINDOW`] steps of now: the
/// spent steps and the drift to record.
fn check_pair(
    input: &Input<'_>,
    doc: &DirectoryDoc,
    index: usize,
    ctx: &Context<'_>,
) -> Result<(SpentCodes, i64), IamError> {
    let first = auth_code(input, "AuthenticationCode1", "authenticationCode1")?;
    let second = auth_code(input, "AuthenticationCode2", "authenticationCode2")?;
    let device = doc
        .mfa_devices
        .get(index)
        .ok_or_else(|| IamError::ServiceFailure("the MFA device went away".into()))?;
    let serial = device.serial(&doc.account_id);
    let seed: Zeroizing<Vec<u8>> = ctx.seeds.open(&serial, &device.seed)?;
    let now = totp::step(ctx.now);
    let s =
        totp::find_pair(&seed, &first, &second, now, RESYNC_WINDOW).ok_or_else(invalid_codes)?;
    Ok((
        SpentCodes {
            serial,
            steps: [s, s + 1],
        },
        totp::drift(s, now),
    ))
}

/// EnableMFADevice's checks: the user (its canonical name), the device, the codes, the drift.
fn enable_check(
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<(String, usize, SpentCodes, i64), IamError> {
    let name = entity::user_name(input)?;
    let serial = serial_number(input)?;
    let user = entity::user(doc, name)?.name.clone();
    let index = device_index(doc, serial)?;
    let device = doc
        .mfa_devices
        .get(index)
        .ok_or_else(|| no_device(serial))?;
    if device.user.is_some() {
        return Err(IamError::EntityAlreadyExists(
            "MFA Device is already in use.".into(),
        ));
    }
    let enabled = doc
        .mfa_devices
        .iter()
        .filter(|d| d.user.as_deref() == Some(user.as_str()))
        .count();
    if enabled >= MFA_DEVICES_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for MFADevicesPerUser: {MFA_DEVICES_PER_USER}"
        )));
    }
    let (spent, drift) = check_pair(input, doc, index, ctx)?;
    Ok((user, index, spent, drift))
}

/// The device `SerialNumber` names, enabled for the user `UserName` (or the caller) names: its
/// index.
fn users_device(input: &Input<'_>, doc: &DirectoryDoc, name: &str) -> Result<usize, IamError> {
    let serial = serial_number(input)?;
    let user = entity::user(doc, name)?;
    let index = device_index(doc, serial)?;
    let device = doc
        .mfa_devices
        .get(index)
        .ok_or_else(|| no_device(serial))?;
    if device.user.as_deref() != Some(user.name.as_str()) {
        return Err(not_the_users());
    }
    Ok(index)
}

/// ResyncMFADevice's checks: the device (enabled for the user), the codes, the new drift.
fn resync_check(
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<(usize, SpentCodes, i64), IamError> {
    let name = entity::user_name(input)?;
    let index = users_device(input, doc, name)?;
    let (spent, drift) = check_pair(input, doc, index, ctx)?;
    Ok((index, spent, drift))
}

fn create(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = common::name(
        input,
        "VirtualMFADeviceName",
        "virtualMFADeviceName",
        MAX_NAME,
    )?;
    let path = common::path(input, "Path", "path")?;
    let tags = common::tags(input)?;
    let device = RawMfaDevice {
        name: name.to_owned(),
        path,
        seed: crate::settings::SecretRef::default(),
        user: None,
        enabled: None,
        drift: 0,
        created: Some(super::timestamp(ctx.now)),
        tags: tags.into_iter().collect(),
    };
    let serial = device.serial(&doc.account_id);
    if serial.len() > 256 {
        return Err(invalid(
            &serial,
            "serialNumber",
            "Member must have length less than or equal to 256",
        ));
    }
    let taken = doc
        .mfa_devices
        .iter()
        .any(|d| common::same_name(&d.serial(&doc.account_id), &serial));
    if taken {
        return Err(IamError::EntityAlreadyExists(
            "MFADevice entity at the same path and name already exists.".into(),
        ));
    }
    let account = doc.account_alias.as_deref().unwrap_or(&doc.account_id);
    let new = crate::mfa::provision::new_device(name, account).map_err(|e| {
        tracing::error!(error = %e, "a virtual MFA device could not be provisioned");
        IamError::ServiceFailure("The virtual MFA device could not be created.".into())
    })?;
    let sealed = ctx.seeds.seal(&serial, &new.seed)?;
    let tags_node = (!device.tags.is_empty()).then(|| common::tags_node(&device.tags));
    doc.mfa_devices.push(RawMfaDevice {
        seed: sealed,
        ..device
    });
    // Blobs are base64 in IAM's XML: the SDKs and the CLI decode them (the CLI writes the
    // Base32 text, or the PNG, to --outfile).
    let b64 = |bytes: &[u8]| Node::Text(data_encoding::BASE64.encode(bytes));
    let mut fields = vec![
        ("SerialNumber", Node::text(&serial)),
        ("Base32StringSeed", b64(new.base32.as_bytes())),
        ("QRCodePNG", b64(&new.qr_png)),
    ];
    if let Some(t) = tags_node {
        fields.push(("Tags", t));
    }
    Ok(Output::empty().field("VirtualMFADevice", Node::Struct(fields)))
}

fn enable(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let (user, index, _, drift) = enable_check(input, doc, ctx)?;
    let d = doc
        .mfa_devices
        .get_mut(index)
        .ok_or_else(|| IamError::ServiceFailure("the MFA device went away".into()))?;
    d.user = Some(user);
    d.enabled = Some(super::timestamp(ctx.now));
    d.drift = drift;
    Ok(Output::empty())
}

fn resync(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let (index, _, drift) = resync_check(input, doc, ctx)?;
    if let Some(d) = doc.mfa_devices.get_mut(index) {
        d.drift = drift;
    }
    Ok(Output::empty())
}

fn deactivate(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = entity::user_name_or_caller(input, ctx)?;
    let index = users_device(input, doc, name)?;
    if let Some(d) = doc.mfa_devices.get_mut(index) {
        d.user = None;
        d.enabled = None;
        d.drift = 0;
    }
    Ok(Output::empty())
}

fn delete(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let serial = serial_number(input)?;
    let index = device_index(doc, serial)?;
    if doc.mfa_devices.get(index).is_some_and(|d| d.user.is_some()) {
        return Err(IamError::DeleteConflict(
            "MFA VirtualDevice in use. Must deactivate first.".into(),
        ));
    }
    doc.mfa_devices.remove(index);
    Ok(Output::empty())
}

fn list_mfa_devices(
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let user = entity::user(doc, entity::user_name_or_caller(input, ctx)?)?;
    let mut devices: Vec<&RawMfaDevice> = doc
        .mfa_devices
        .iter()
        .filter(|d| d.user.as_deref() == Some(user.name.as_str()))
        .collect();
    devices.sort_by_key(|d| d.serial(&doc.account_id));
    let (page, next) = common::page(input, devices)?;
    let list = Node::List(
        page.into_iter()
            .map(|d| {
                Node::Struct(vec![
                    ("UserName", Node::text(&user.name)),
                    ("SerialNumber", Node::text(d.serial(&doc.account_id))),
                    ("EnableDate", Node::text(created(&d.enabled))),
                ])
            })
            .collect(),
    );
    Ok(common::page_fields(
        Output::empty().field("MFADevices", list),
        next,
    ))
}

fn list_virtual_mfa_devices(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let status = input.get("AssignmentStatus").unwrap_or("Any");
    let wanted = |assigned: bool| match status {
        "Assigned" => Ok(assigned),
        "Unassigned" => Ok(!assigned),
        "Any" => Ok(true),
        other => Err(invalid(
            other,
            "assignmentStatus",
            "Member must satisfy enum value set: [Assigned, Unassigned, Any]",
        )),
    };
    wanted(true)?;
    let mut devices: Vec<&RawMfaDevice> = Vec::new();
    for d in &doc.mfa_devices {
        if wanted(d.user.is_some())? {
            devices.push(d);
        }
    }
    devices.sort_by_key(|d| d.serial(&doc.account_id));
    let (page, next) = common::page(input, devices)?;
    let list = Node::List(
        page.into_iter()
            .map(|d| {
                let mut fields = vec![("SerialNumber", Node::text(d.serial(&doc.account_id)))];
                if let Some(u) = d.user.as_deref().and_then(|n| entity::user(doc, n).ok()) {
                    fields.push(("User", entity::user_brief(doc, u)));
                    fields.push(("EnableDate", Node::text(created(&d.enabled))));
                }
                if !d.tags.is_empty() {
                    fields.push(("Tags", common::tags_node(&d.tags)));
                }
                Node::Struct(fields)
            })
            .collect(),
    );
    Ok(common::page_fields(
        Output::empty().field("VirtualMFADevices", list),
        next,
    ))
}
