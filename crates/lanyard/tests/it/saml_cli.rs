//! `lanyard saml verify`, the offline debugger, on real IdP output (SSOReady's Google and ADFS
//! fixtures, at the instant they were valid) and on refusals.

use crate::harness::bin;
use std::path::{Path, PathBuf};

fn fixture(idp: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lanyard-saml/tests/fixtures/ssoready/testdata/assertions")
        .join(idp)
}

/// (sp_entity_id, now) from params.json, and the ACS URL the IdP was configured with (the
/// response's Destination).
fn params(idp: &str) -> (String, String, String) {
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(idp).join("params.json")).unwrap())
            .unwrap();
    let xml = std::fs::read_to_string(fixture(idp).join("assertion.xml")).unwrap();
    let acs = xml
        .split("Destination=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (
        p["sp_entity_id"].as_str().unwrap().to_owned(),
        p["now"].as_str().unwrap().to_owned(),
        acs,
    )
}

fn verify(idp: &str, extra: &[&str], response: &str) -> std::process::Output {
    let (sp, now, acs) = params(idp);
    bin()
        .args(["saml", "verify", "--metadata"])
        .arg(fixture(idp).join("metadata.xml"))
        .args(["--sp-entity-id", &sp, "--acs-url", &acs, "--now", &now])
        .args(extra)
        .arg(response)
        .output()
        .unwrap()
}

#[test]
fn google_response_verifies_and_prints_the_identity() {
    let path = fixture("google").join("assertion.xml");
    let out = verify("google", &[], path.to_str().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("NameID:        ulysse.carion@codomaindata.com"),
        "{stdout}"
    );
    assert!(
        stdout.contains("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"),
        "{stdout}"
    );
}

#[test]
fn adfs_response_as_base64_on_stdin_with_json_output() {
    use std::io::Write;
    use std::process::Stdio;
    let (sp, now, acs) = params("adfs");
    let xml = std::fs::read(fixture("adfs").join("assertion.xml")).unwrap();
    let b64 = base64_encode(&xml);
    let mut child = bin()
        .args(["saml", "verify", "--json", "--metadata"])
        .arg(fixture("adfs").join("metadata.xml"))
        .args(["--sp-entity-id", &sp, "--acs-url", &acs, "--now", &now, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b64.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["name_id"],
        "ulysse.carion_codomaindata.com#EXT#@ulyssecarioncodomaindata.onmicrosoft.com"
    );
    let attrs = v["attributes"].as_array().unwrap();
    assert!(attrs.iter().any(|a| a["name"]
        == "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
        && a["values"][0] == "ulysse.carion@codomaindata.com"));
}

#[test]
fn refusals_print_the_code_and_help_and_exit_1() {
    let path = fixture("google").join("assertion.xml");
    // A day later the assertion has expired.
    let out = bin()
        .args(["saml", "verify", "--metadata"])
        .arg(fixture("google").join("metadata.xml"))
        .args([
            "--sp-entity-id",
            &params("google").0,
            "--acs-url",
            &params("google").2,
        ])
        .args(["--now", "2023-11-17T21:20:27Z", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["code"], "saml.expired");
    assert!(v["help"].as_str().unwrap().contains("clock"), "{v}");

    // Another SP's audience, in text form.
    let (_, now, acs) = params("google");
    let out = bin()
        .args(["saml", "verify", "--metadata"])
        .arg(fixture("google").join("metadata.xml"))
        .args([
            "--sp-entity-id",
            "https://other.example/sp",
            "--acs-url",
            &acs,
            "--now",
            &now,
        ])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("REFUSED: saml.bad_audience"), "{stdout}");
    assert!(stdout.contains("Audience"), "{stdout}");

    // A request ID the response does not answer.
    let out = verify(
        "adfs",
        &["--request-id", "_not_ours", "--json"],
        fixture("adfs").join("assertion.xml").to_str().unwrap(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["code"], "saml.in_response_to_mismatch");
}

#[test]
fn unusable_arguments_exit_2_with_one_line() {
    let out = bin()
        .args([
            "saml",
            "verify",
            "--metadata",
            "/no/such.xml",
            "--sp-entity-id",
            "x",
            "--acs-url",
            "y",
            "/no/resp.xml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read /no/such.xml"), "{stderr}");
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
