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
    // Google's response answers no request (IdP-initiated): allowed explicitly.
    let out = verify("google", &["--allow-unsolicited"], path.to_str().unwrap());
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
        .args([
            "saml",
            "verify",
            "--json",
            "--allow-idp-initiated",
            "--metadata",
        ])
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
        .args([
            "--now",
            "2023-11-17T21:20:27Z",
            "--json",
            "--allow-unsolicited",
        ])
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
            "--allow-unsolicited",
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

// ----- policy: --connection, the unsolicited rule, the signed-assertion rule ---------------------

const GEN_IDP: &str = "https://idp.cli.test/";
const GEN_SP: &str = "https://sso.cli.test/t/acme/saml/cli/metadata";
const GEN_ACS: &str = "https://sso.cli.test/t/acme/saml/cli/acs";
const GEN_NOW: &str = "2026-01-01T12:00:00Z";

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lanyard-saml/tests/fixtures/keys")
}

fn pem_der(path: &Path) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// Inserts an enveloped rsa-sha256 signature by the test IdP key into the element with `id`,
/// right after its Issuer (digest over the crate's exclusive c14n).
fn sign_element(doc: &str, id: &str) -> String {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use base64::Engine as _;
    use lanyard_saml::c14n::{Options, canonicalize};
    use lanyard_saml::xml::{Limits, parse};
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let parsed = parse(doc.as_bytes(), &Limits::default()).unwrap();
    let el = parsed
        .descendants()
        .find(|n| n.attribute("ID") == Some(id))
        .unwrap();
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &canonicalize(el, &Options::default()),
    );
    const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
    const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    let signed_info = format!(
        r##"<ds:SignedInfo xmlns:ds="{DS}"><ds:CanonicalizationMethod Algorithm="{EXC}"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></ds:SignatureMethod><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="{DS}enveloped-signature"></ds:Transform><ds:Transform Algorithm="{EXC}"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##,
        b64(digest.as_ref())
    );
    let pair = RsaKeyPair::from_pkcs8(&pem_der(&keys_dir().join("idp.pk8.pem"))).unwrap();
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signed_info.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let signature = format!(
        r#"<ds:Signature xmlns:ds="{DS}">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue></ds:Signature>"#,
        b64(&sig)
    );
    let issuer = el
        .children()
        .find(|c| c.tag_name().name() == "Issuer")
        .unwrap();
    let at = issuer.range().end;
    format!("{}{signature}{}", &doc[..at], &doc[at..])
}

/// A response from the generated IdP. `response_irt` / `sc_irt`: InResponseTo on the Response and
/// on the SubjectConfirmationData.
fn gen_response(response_irt: Option<&str>, sc_irt: Option<&str>) -> String {
    let attr = |v: Option<&str>| {
        v.map(|v| format!(r#" InResponseTo="{v}""#))
            .unwrap_or_default()
    };
    format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" IssueInstant="{now}" Destination="{acs}"{rirt}>"#,
            r#"<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{idp}</saml:Issuer>"#,
            r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>"#,
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" IssueInstant="{now}" Version="2.0">"#,
            r#"<saml:Issuer>{idp}</saml:Issuer>"#,
            r#"<saml:Subject><saml:NameID>carol@acme.example</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{scirt} NotOnOrAfter="2026-01-01T12:05:00Z" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="2026-01-01T11:55:00Z" NotOnOrAfter="2026-01-01T12:05:00Z"><saml:AudienceRestriction><saml:Audience>{sp}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="2026-01-01T11:59:00Z" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            r#"</saml:Assertion></samlp:Response>"#
        ),
        now = GEN_NOW,
        acs = GEN_ACS,
        idp = GEN_IDP,
        sp = GEN_SP,
        rirt = attr(response_irt),
        scirt = attr(sc_irt),
    )
}

/// The connection JSON as `GET /api/v1/tenants/acme/connections/cli` returns it, for the
/// generated IdP, with `saml` fields overridden by `policy`.
fn gen_connection(dir: &Path, policy: serde_json::Value) -> PathBuf {
    let cert = std::fs::read_to_string(keys_dir().join("idp.crt")).unwrap();
    let mut c = serde_json::json!({
        "id": "c1", "tenant": "acme", "slug": "cli", "name": "CLI IdP", "kind": "saml",
        "enabled": true, "sp_entity_id": GEN_SP, "acs_url": GEN_ACS,
        "metadata_url": GEN_SP, "verify_url": null,
        "login_url": "https://sso.cli.test/t/acme/sso/cli/start",
        "saml": {
            "idp_entity_id": GEN_IDP, "sso_url": "https://idp.cli.test/sso",
            "certificates": [cert], "certificate_fingerprints": ["00"],
            "idp_metadata_url": null, "request_binding": "redirect",
            "allow_idp_initiated": false, "allow_sha1": false,
            "require_signed_assertions": false, "clock_skew_secs": 90, "jit": false,
            "username_attribute": null, "email_attribute": null,
            "display_name_attribute": null, "sign_requests": false, "sp_certificate": null,
            "logoff_url": null,
        },
        "jwt": null, "callback_url": null, "oidc": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
    });
    for (k, v) in policy.as_object().unwrap() {
        c["saml"][k] = v.clone();
    }
    let path = dir.join(format!("connection-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, c.to_string()).unwrap();
    path
}

/// Runs `lanyard saml verify --connection CONN --now GEN_NOW --json ARGS RESPONSE`; returns the
/// exit code and the JSON printed.
fn verify_gen(conn: &Path, args: &[&str], response: &str) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("response.xml");
    std::fs::write(&file, response).unwrap();
    let out = bin()
        .args(["saml", "verify", "--json", "--now", GEN_NOW, "--connection"])
        .arg(conn)
        .args(args)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

#[test]
fn unsolicited_responses_are_refused_as_the_acs_refuses_them_unless_allowed() {
    // Google's real response answers no AuthnRequest.
    let path = fixture("google").join("assertion.xml");
    let p = path.to_str().unwrap();
    let out = verify("google", &["--json"], p);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["code"], "saml.unsolicited");
    for allow in [
        "--allow-unsolicited",
        "--allow-idp-initiated",
        "--allow-unsolicited=true",
    ] {
        let out = verify("google", &["--json", allow], p);
        assert_eq!(out.status.code(), Some(0), "{allow}");
    }
    let out = verify("google", &["--json", "--allow-unsolicited=false"], p);
    assert_eq!(out.status.code(), Some(1));

    // The same through a connection file: its allow_idp_initiated decides, a flag overrides.
    let dir = tempfile::tempdir().unwrap();
    let unsolicited = sign_element(&gen_response(None, None), "_a1");
    let strict = gen_connection(dir.path(), serde_json::json!({}));
    let (code, v) = verify_gen(&strict, &[], &unsolicited);
    assert_eq!((code, v["code"].as_str()), (1, Some("saml.unsolicited")));
    let (code, v) = verify_gen(&strict, &["--allow-unsolicited"], &unsolicited);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["in_response_to"], serde_json::Value::Null);
    let open = gen_connection(dir.path(), serde_json::json!({"allow_idp_initiated": true}));
    assert_eq!(verify_gen(&open, &[], &unsolicited).0, 0);
    let (code, v) = verify_gen(&open, &["--allow-unsolicited=false"], &unsolicited);
    assert_eq!((code, v["code"].as_str()), (1, Some("saml.unsolicited")));
    // A pending request given with --request-id: an unsolicited response does not answer it,
    // even where IdP-initiated login is allowed (the ACS found a pending login by that ID).
    let (code, v) = verify_gen(&open, &["--request-id", "_req1"], &unsolicited);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("saml.in_response_to_mismatch"))
    );
}

#[test]
fn in_response_to_is_checked_as_the_acs_checks_it() {
    let dir = tempfile::tempdir().unwrap();
    let conn = gen_connection(dir.path(), serde_json::json!({}));
    // Answering a request: without --request-id the claimed ID stands for the pending request.
    let answer = sign_element(&gen_response(Some("_req1"), Some("_req1")), "_r1");
    let (code, v) = verify_gen(&conn, &[], &answer);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["in_response_to"], "_req1");
    assert_eq!(v["in_response_to_checked"], false);
    let (code, v) = verify_gen(&conn, &["--request-id", "_req1"], &answer);
    assert_eq!(
        (code, v["in_response_to_checked"].as_bool()),
        (0, Some(true))
    );
    let (code, v) = verify_gen(&conn, &["--request-id", "_other"], &answer);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("saml.in_response_to_mismatch"))
    );
    // The signed Response and the confirmation name different requests: refused as at the ACS,
    // whichever one the debugger took as pending.
    let split = sign_element(&gen_response(Some("_req1"), Some("_req2")), "_r1");
    let (code, v) = verify_gen(&conn, &[], &split);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("saml.in_response_to_mismatch"))
    );
    // An InResponseTo only on the unsigned envelope of an assertion-signed response is not
    // trusted: the assertion is unsolicited.
    let envelope_only = sign_element(&gen_response(Some("_req1"), None), "_a1");
    let (code, v) = verify_gen(&conn, &[], &envelope_only);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("saml.in_response_to_mismatch"))
    );
    // Text output says how the ID was taken.
    let file = dir.path().join("answer.xml");
    std::fs::write(&file, &answer).unwrap();
    let out = bin()
        .args(["saml", "verify", "--now", GEN_NOW, "--connection"])
        .arg(&conn)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("InResponseTo:  _req1 (taken as the pending request"),
        "{stdout}"
    );
}

#[test]
fn signed_assertion_rule_follows_the_connection_or_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    // OneLogin / PingFederate / Auth0 style: only the Response is signed.
    let response_only = sign_element(&gen_response(Some("_req1"), Some("_req1")), "_r1");
    let lax = gen_connection(dir.path(), serde_json::json!({}));
    let (code, v) = verify_gen(&lax, &[], &response_only);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (
            v["response_signed"].as_bool(),
            v["assertion_signed"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let (code, v) = verify_gen(&lax, &["--require-signed-assertions"], &response_only);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("saml.unsigned_assertion"))
    );
    let strict = gen_connection(
        dir.path(),
        serde_json::json!({"require_signed_assertions": true}),
    );
    let (code, v) = verify_gen(&strict, &[], &response_only);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("saml.unsigned_assertion"))
    );
    let (code, _) = verify_gen(
        &strict,
        &["--require-signed-assertions=false"],
        &response_only,
    );
    assert_eq!(code, 0);
    // A signed Assertion satisfies the strict connection.
    let both = sign_element(
        &sign_element(&gen_response(Some("_req1"), Some("_req1")), "_a1"),
        "_r1",
    );
    assert_eq!(verify_gen(&strict, &[], &both).0, 0);
    // The connection's other settings apply too: its clock skew, its SP entity ID (overridable).
    let late = gen_connection(dir.path(), serde_json::json!({"clock_skew_secs": 0}));
    let dir2 = tempfile::tempdir().unwrap();
    let file = dir2.path().join("r.xml");
    std::fs::write(&file, &response_only).unwrap();
    let out = bin()
        .args([
            "saml",
            "verify",
            "--json",
            "--now",
            "2026-01-01T12:05:30Z",
            "--connection",
        ])
        .arg(&late)
        .arg(&file)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], "saml.expired");
    let (code, v) = verify_gen(
        &lax,
        &["--sp-entity-id", "https://other.example/sp"],
        &response_only,
    );
    assert_eq!((code, v["code"].as_str()), (1, Some("saml.bad_audience")));
}

#[test]
fn unusable_connection_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let resp = dir.path().join("r.xml");
    std::fs::write(&resp, "<x/>").unwrap();
    let not_json = dir.path().join("bad.json");
    std::fs::write(&not_json, "not json").unwrap();
    let oidc = dir.path().join("oidc.json");
    std::fs::write(&oidc, r#"{"kind":"oidc","saml":null,"oidc":{}}"#).unwrap();
    for (file, says) in [
        (&not_json, "is not JSON"),
        (&oidc, "is not a SAML connection"),
    ] {
        let out = bin()
            .args(["saml", "verify", "--connection"])
            .arg(file)
            .arg(&resp)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    // --connection and --metadata together are refused by the argument parser.
    let out = bin()
        .args(["saml", "verify", "--connection"])
        .arg(&oidc)
        .args(["--metadata", "x.xml"])
        .arg(&resp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
