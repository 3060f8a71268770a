//! SSOReady's exclusive-c14n cases: canonicalizing the root element of `in.xml` must give
//! `out.xml` byte for byte.

use lanyard_saml::c14n::{Options, canonicalize};
use lanyard_saml::xml::{Limits, parse};

use crate::common::read;

fn case(name: &str) {
    let input = read(&format!("ssoready/c14n/testdata/{name}/in.xml"));
    let expected = read(&format!("ssoready/c14n/testdata/{name}/out.xml"));
    let doc = parse(&input, &Limits::default()).unwrap();
    let got = canonicalize(doc.root_element(), &Options::default());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected),
        "case {name}"
    );
    assert_eq!(got, expected, "case {name}");
}

#[test]
fn encoding() {
    case("encoding");
}

#[test]
fn saml() {
    case("saml");
}

#[test]
fn shadowing() {
    case("shadowing");
}

#[test]
fn start_end() {
    case("start_end");
}

#[test]
fn whitespace() {
    case("whitespace");
}
