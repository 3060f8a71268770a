//! A SAML sign-in commits in ONE store transaction (replay record, pending login, provisioning,
//! session, audit), on SQLite and PostgreSQL: a failure inside it leaves nothing behind; racing
//! first sign-ins of one new person end in one account; a replayed assertion racing itself
//! opens one session. Real signed responses (the committed test IdP key), no mock store: the
//! failure is a trigger that refuses the session insert, after provisioning wrote its rows.

use crate::harness::{T0, each_backend, meta};
use base64::Engine as _;
use lanyard_core::model::PendingLogin;
use lanyard_core::signin::saml::{AcsOutcome, AcsPost};
use lanyard_core::{Ctx, Error, Lanyard, Store};
use lanyard_proto as proto;
use lanyard_saml::signing::{Digest, SigningKey, sign_enveloped};
use std::sync::Arc;

pub const PUBLIC: &str = "https://sso.test";
const IDP: &str = "https://idp.example/";

fn fixture(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lanyard-saml/tests/fixtures/keys")
            .join(name),
    )
    .unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_pkcs8_der(&fixture("idp.pk8.pem"), Some(fixture("idp.crt"))).unwrap()
}

fn instant(t: i64) -> String {
    lanyard_saml::time::format_datetime(lanyard_saml::time::from_millis(t * 1000))
}

/// A signed (Response and Assertion) unsolicited or solicited response for `email`, with the
/// assertion ID `aid`, as the `SAMLResponse` form field.
pub fn response(tenant: &str, conn: &str, email: &str, aid: &str, irt: Option<&str>) -> String {
    let urls = lanyard_core::connection::sp_urls(PUBLIC, tenant, conn);
    let rid = format!("_r{}", uuid::Uuid::new_v4().simple());
    let irt_attr = irt
        .map(|i| format!(r#" InResponseTo="{i}""#))
        .unwrap_or_default();
    let (now, nb, noa) = (instant(T0), instant(T0 - 60), instant(T0 + 3600));
    let acs = &urls.acs_url;
    let sp = &urls.entity_id;
    let assertion = format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{aid}" IssueInstant="{now}" Version="2.0"><saml:Issuer>{IDP}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{noa}" Recipient="{acs}"{irt_attr}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{sp}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{aid}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#
    );
    let k = key();
    let assertion = sign_enveloped(&assertion, aid, &k, Digest::Sha256).unwrap();
    let response = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{rid}" Version="2.0" IssueInstant="{now}" Destination="{acs}"{irt_attr}><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#
    );
    let signed = sign_enveloped(&response, &rid, &k, Digest::Sha256).unwrap();
    base64::engine::general_purpose::STANDARD.encode(signed)
}

/// Tenant `a` with the SAML connection `okta` (IdP-initiated on, JIT on, email attribute).
pub async fn setup(l: &Lanyard) {
    l.create_tenant(
        &Ctx::cli(),
        proto::CreateTenant {
            slug: "a".into(),
            name: "A".into(),
            session_lifetime_secs: None,
        },
    )
    .await
    .unwrap();
    let cert = String::from_utf8(
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../lanyard-saml/tests/fixtures/keys/idp.crt"),
        )
        .unwrap(),
    )
    .unwrap();
    l.create_connection(
        &Ctx::cli(),
        "a",
        proto::ConnectionInput {
            slug: Some("okta".into()),
            name: Some("Okta".into()),
            idp_entity_id: Some(IDP.into()),
            sso_url: Some("https://idp.example/sso".into()),
            certificates: Some(vec![cert]),
            allow_idp_initiated: Some(true),
            jit: Some(true),
            email_attribute: Some(Some("email".into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

pub async fn acs(l: &Lanyard, saml_response: &str) -> lanyard_core::Result<AcsOutcome> {
    acs_with(l, saml_response, None).await
}

async fn acs_with(
    l: &Lanyard,
    saml_response: &str,
    relay_state: Option<&str>,
) -> lanyard_core::Result<AcsOutcome> {
    l.saml_acs(
        "a",
        "okta",
        &AcsPost {
            saml_response,
            relay_state,
            browser_binding: None,
            public_url: PUBLIC,
        },
        &meta("198.51.100.7"),
    )
    .await
}

pub async fn count(store: &Store, sql: &str) -> i64 {
    let q = sqlx::AssertSqlSafe(sql.to_owned());
    match store {
        Store::Sqlite(s) => sqlx::query_scalar::<_, i64>(q)
            .fetch_one(s.writer())
            .await
            .unwrap(),
        Store::Postgres(p) => sqlx::query_scalar::<_, i64>(q)
            .fetch_one(p.pool())
            .await
            .unwrap(),
    }
}

async fn exec(store: &Store, sqlite: &[&str], postgres: &[&str]) {
    match store {
        Store::Sqlite(db) => {
            for s in sqlite {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_string()))
                    .execute(db.writer())
                    .await
                    .unwrap();
            }
        }
        Store::Postgres(p) => {
            for s in postgres {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_string()))
                    .execute(p.pool())
                    .await
                    .unwrap();
            }
        }
    }
}

async fn audit_kinds(store: &Store, kind: &str) -> i64 {
    count(
        store,
        &format!("SELECT COUNT(*) FROM audit_events WHERE kind = '{kind}'"),
    )
    .await
}

/// Tenant `a`'s connection `okta` (see [`setup`]).
async fn okta(l: &Lanyard) -> lanyard_core::model::Connection {
    l.store
        .connection_by_slug(&l.tenant("a").await.unwrap().id, "okta")
        .await
        .unwrap()
        .unwrap()
}

/// A pending login `id` of connection `c`, started at T0, valid 10 minutes.
fn pending_login(c: &lanyard_core::model::Connection, id: &str) -> PendingLogin {
    PendingLogin {
        id: id.to_owned(),
        tenant_id: c.tenant_id.clone(),
        connection_id: c.id.clone(),
        relay_state: "rs".into(),
        browser_binding: None,
        return_to: None,
        created_at: T0,
        expires_at: T0 + 600,
        invitation_id: None,
        purpose: None,
    }
}

fn signed_in(o: lanyard_core::Result<AcsOutcome>) -> lanyard_core::signin::saml::SamlLogin {
    match o {
        Ok(AcsOutcome::SignedIn(l)) => *l,
        Ok(AcsOutcome::Tested(_)) => panic!("a test report, not a sign-in"),
        Err(e) => panic!("refused: {} ({e})", e.code()),
    }
}

#[tokio::test]
async fn a_sign_in_is_all_or_nothing() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        // The session insert is refused after provisioning wrote the user, the link, the
        // welcome mail and the audit events in the same transaction.
        exec(
            &l.store,
            &["CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
            &[
                "CREATE FUNCTION refuse_sessions() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_sessions()",
            ],
        )
        .await;
        let first = response("a", "okta", "new@acme.example", "_a-all-or-nothing", None);
        let err = acs(l, &first).await.expect_err("refused");
        assert_eq!(err.code(), "store.unavailable", "{}: {err}", e.name);
        let s = &l.store;
        assert_eq!(count(s, "SELECT COUNT(*) FROM replay_cache").await, 0, "{}: replay record", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM users WHERE email = 'new@acme.example'").await, 0, "{}: user", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM federated_identities").await, 0, "{}: link", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM sessions").await, 0, "{}: session", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM outbox").await, 0, "{}: mail", e.name);
        assert_eq!(audit_kinds(s, "user.created").await, 0, "{}: user.created", e.name);
        assert_eq!(audit_kinds(s, "login.succeeded").await, 0, "{}: login.succeeded", e.name);
        // The refusal itself is audited (outside the rolled-back transaction).
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM audit_events WHERE kind = 'login.failed' AND code = 'store.unavailable'").await,
            1,
            "{}: login.failed",
            e.name
        );

        // Nothing was spent: once the store accepts sessions again, the same response signs in.
        exec(
            s,
            &["DROP TRIGGER refuse_sessions"],
            &["DROP TRIGGER refuse_sessions ON sessions", "DROP FUNCTION refuse_sessions()"],
        )
        .await;
        let login = signed_in(acs(l, &first).await);
        assert!(login.user_created, "{}", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM replay_cache").await, 1, "{}", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM sessions").await, 1, "{}", e.name);
        assert_eq!(audit_kinds(s, "user.created").await, 1, "{}", e.name);
        assert_eq!(audit_kinds(s, "login.succeeded").await, 1, "{}", e.name);
        // And only once.
        let again = acs(l, &first).await.expect_err("replay refused");
        assert!(matches!(again, Error::SamlReplayed), "{}: {again}", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM sessions").await, 1, "{}", e.name);
    })
    .await;
}

#[tokio::test]
async fn a_returning_sign_in_with_an_unchanged_profile_writes_no_user_row() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        signed_in(
            acs(
                l,
                &response("a", "okta", "ret@acme.example", "_a-ret-1", None),
            )
            .await,
        );
        let before = count(
            &l.store,
            "SELECT updated_at FROM users WHERE email = 'ret@acme.example'",
        )
        .await;
        e.clock.advance(120);
        let login = signed_in(
            acs(
                l,
                &response("a", "okta", "ret@acme.example", "_a-ret-2", None),
            )
            .await,
        );
        assert!(!login.user_created, "{}", e.name);
        assert_eq!(login.provisioning, "existing", "{}", e.name);
        let after = count(
            &l.store,
            "SELECT updated_at FROM users WHERE email = 'ret@acme.example'",
        )
        .await;
        assert_eq!(before, after, "{}: the user row was not rewritten", e.name);
        assert_eq!(audit_kinds(&l.store, "user.updated").await, 0, "{}", e.name);
        // The link's last sign-in moved (one row, in the sign-in's transaction).
        assert_eq!(
            count(&l.store, "SELECT last_login_at FROM federated_identities").await,
            T0 + 120,
            "{}",
            e.name
        );
        assert_eq!(
            count(&l.store, "SELECT COUNT(*) FROM sessions").await,
            2,
            "{}",
            e.name
        );
    })
    .await;
}

/// Runs `f` on each input in a task of its own, all released at one moment (a barrier), as two
/// people or two tabs would; the outputs in the inputs' order.
pub async fn at_once<I, T, Fut>(inputs: Vec<I>, f: impl Fn(I) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(inputs.len()));
    let tasks: Vec<_> = inputs
        .into_iter()
        .map(|i| {
            let (barrier, run) = (barrier.clone(), f(i));
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

const ROUNDS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_sign_ins_of_one_new_person_share_one_account() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        for round in 0..ROUNDS {
            let email = format!("race{round}@acme.example");
            let bodies = [
                response("a", "okta", &email, &format!("_a-race-{round}-x"), None),
                response("a", "okta", &email, &format!("_a-race-{round}-y"), None),
            ];
            let outcomes = at_once(bodies.into(), |b| {
                let l = l.clone();
                async move { acs(&l, &b).await }
            })
            .await;
            let mut users = std::collections::BTreeSet::new();
            let mut created = 0;
            for outcome in outcomes {
                let login = signed_in(outcome);
                users.insert(login.session.session.user_id.clone());
                created += usize::from(login.user_created);
            }
            assert_eq!(users.len(), 1, "{}: round {round}: one account", e.name);
            assert_eq!(created, 1, "{}: round {round}: created once", e.name);
        }
        let s = &l.store;
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM users WHERE email LIKE 'race%'").await,
            ROUNDS as i64,
            "{}",
            e.name
        );
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM sessions").await,
            2 * ROUNDS as i64,
            "{}",
            e.name
        );
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM replay_cache").await,
            2 * ROUNDS as i64,
            "{}",
            e.name
        );
        assert_eq!(
            audit_kinds(s, "user.created").await,
            ROUNDS as i64,
            "{}",
            e.name
        );
        assert_eq!(
            audit_kinds(s, "login.succeeded").await,
            2 * ROUNDS as i64,
            "{}",
            e.name
        );
        // One welcome mail per account: the loser's rolled-back transaction left nothing.
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM outbox").await,
            ROUNDS as i64,
            "{}",
            e.name
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replayed_assertion_racing_itself_opens_one_session() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        // Half the rounds for a returning person, half for a new one.
        signed_in(acs(l, &response("a", "okta", "back@acme.example", "_a-replay-seed", None)).await);
        for round in 0..ROUNDS {
            let email = if round % 2 == 0 {
                "back@acme.example".to_owned()
            } else {
                format!("fresh{round}@acme.example")
            };
            let body = response("a", "okta", &email, &format!("_a-replay-{round}"), None);
            let outcomes = at_once(vec![body.clone(), body], |b| {
                let l = l.clone();
                async move { acs(&l, &b).await }
            })
            .await;
            let mut ok = 0;
            for outcome in outcomes {
                match outcome {
                    Ok(AcsOutcome::SignedIn(_)) => ok += 1,
                    Ok(AcsOutcome::Tested(_)) => panic!("a test report"),
                    Err(Error::SamlReplayed) => {}
                    Err(err) => panic!("{}: round {round}: {} ({err})", e.name, err.code()),
                }
            }
            assert_eq!(ok, 1, "{}: round {round}: exactly one sign-in", e.name);
        }
        let s = &l.store;
        assert_eq!(count(s, "SELECT COUNT(*) FROM sessions").await, 1 + ROUNDS as i64, "{}", e.name);
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM audit_events WHERE kind = 'login.failed' AND code = 'saml.replayed_assertion'").await,
            ROUNDS as i64,
            "{}",
            e.name
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_answers_to_one_request_consume_it_once() {
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        let c = okta(l).await;
        for round in 0..4 {
            let id = format!("_req{round}");
            l.store
                .insert_pending_login(&pending_login(&c, &id))
                .await
                .unwrap();
            // Two distinct assertions answering the same request, posted at once.
            let bodies = [
                response(
                    "a",
                    "okta",
                    "sp@acme.example",
                    &format!("_a-sp-{round}-x"),
                    Some(&id),
                ),
                response(
                    "a",
                    "okta",
                    "sp@acme.example",
                    &format!("_a-sp-{round}-y"),
                    Some(&id),
                ),
            ];
            let outcomes = at_once(bodies.into(), |b| {
                let l = l.clone();
                async move { acs_with(&l, &b, Some("rs")).await }
            })
            .await;
            let mut ok = 0;
            for outcome in outcomes {
                match outcome {
                    Ok(AcsOutcome::SignedIn(_)) => ok += 1,
                    Ok(AcsOutcome::Tested(_)) => panic!("a test report"),
                    Err(Error::SamlUnknownRequest) => {}
                    Err(err) => panic!("{}: round {round}: {} ({err})", e.name, err.code()),
                }
            }
            assert_eq!(
                ok, 1,
                "{}: round {round}: the request answered once",
                e.name
            );
            assert_eq!(
                count(&l.store, "SELECT COUNT(*) FROM pending_logins").await,
                0,
                "{}",
                e.name
            );
        }
        assert_eq!(
            count(&l.store, "SELECT COUNT(*) FROM sessions").await,
            4,
            "{}",
            e.name
        );
    })
    .await;
}

/// On SQLite the sign-ins queued at one moment commit in one transaction (group commit), each in
/// a savepoint of its own; on PostgreSQL each has its own transaction. Either way every sign-in
/// keeps its own verdict: a storm of concurrent sign-ins — returning people, new ones, every
/// answer posted twice at once, and one new person whose account a trigger refuses after the
/// sign-in wrote its replay record — signs each answer in exactly once, refuses each second post
/// as a replay, and leaves nothing of the refused person behind (not even the replay record).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_sign_ins_keeps_each_ones_verdict() {
    const ANSWERS: usize = 16;
    const REFUSED: usize = 5;
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        signed_in(acs(l, &response("a", "okta", "back@acme.example", "_g-seed", None)).await);
        exec(
            &l.store,
            &["CREATE TRIGGER refuse_one BEFORE INSERT ON users \
               WHEN NEW.email = 'refused@acme.example' \
               BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
            &[
                "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN \
                 IF NEW.email = 'refused@acme.example' THEN \
                 RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_one BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_one()",
            ],
        )
        .await;
        let bodies: Vec<String> = (0..ANSWERS)
            .map(|i| {
                let email = match i {
                    REFUSED => "refused@acme.example".to_owned(),
                    i if i % 4 == 0 => "back@acme.example".to_owned(),
                    i => format!("new{i}@acme.example"),
                };
                response("a", "okta", &email, &format!("_g-{i}"), None)
            })
            .collect();
        let outcomes = at_once((0..2 * ANSWERS).collect(), |n| {
            let (l, body) = (l.clone(), bodies[n % ANSWERS].clone());
            async move { (n % ANSWERS, acs(&l, &body).await) }
        })
        .await;
        let mut signed = [0usize; ANSWERS];
        let mut replayed = [0usize; ANSWERS];
        for outcome in outcomes {
            match outcome {
                (i, Ok(AcsOutcome::SignedIn(_))) => signed[i] += 1,
                (i, Err(Error::SamlReplayed)) => replayed[i] += 1,
                (REFUSED, Err(err)) => assert_eq!(err.code(), "store.unavailable", "{}: {err}", e.name),
                (i, other) => panic!("{}: answer {i}: {:?}", e.name, other.map(|_| "a test report").map_err(|e| e.code())),
            }
        }
        for i in (0..ANSWERS).filter(|&i| i != REFUSED) {
            assert_eq!((signed[i], replayed[i]), (1, 1), "{}: answer {i}", e.name);
        }
        assert_eq!((signed[REFUSED], replayed[REFUSED]), (0, 0), "{}", e.name);
        let s = &l.store;
        assert_eq!(count(s, "SELECT COUNT(*) FROM sessions").await, ANSWERS as i64, "{}: seed + 15", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM users WHERE email = 'refused@acme.example'").await, 0, "{}", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM replay_cache WHERE assertion_id = '_g-5'").await, 0, "{}", e.name);
        assert_eq!(count(s, "SELECT COUNT(*) FROM users").await, 1 + 11, "{}: back + new people", e.name);
        if let Store::Sqlite(db) = s {
            let g = db.sign_in_groups();
            // Every sign-in went through the writer. (How many shared a group depends on the
            // threads' timing; the grouping itself is tested in `store::group_commit`.)
            assert_eq!(g.sign_ins, 1 + 2 * ANSWERS as u64, "{}: {g:?}", e.name);
        }
    })
    .await;
}

/// Returning people's sign-ins go to PostgreSQL in groups (one statement of many sign-ins,
/// `store::pg_group`) and to SQLite's writer in groups: each keeps its own verdict. Twelve
/// returning people, two answers each, every answer posted twice at once (48 requests), and
/// one person whose sessions a trigger refuses — on PostgreSQL that fails the whole group's
/// statement, which is then rerun one sign-in at a time: every other answer signs in exactly
/// once and is refused once as a replay, the refused person's answers leave no session, no
/// replay record and no event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_of_returning_sign_ins_keeps_each_ones_verdict() {
    const PEOPLE: usize = 12;
    const REFUSED: usize = 7;
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        let email = |p: usize| format!("back{p}@acme.example");
        for p in 0..PEOPLE {
            signed_in(acs(l, &response("a", "okta", &email(p), &format!("_seed-{p}"), None)).await);
        }
        exec(
            &l.store,
            &["CREATE TRIGGER refuse_session BEFORE INSERT ON sessions \
               WHEN NEW.user_id IN (SELECT id FROM users WHERE email = 'back7@acme.example') \
               BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
            &[
                "CREATE FUNCTION refuse_session() RETURNS trigger AS $$ BEGIN \
                 IF NEW.user_id IN (SELECT id FROM users WHERE email = 'back7@acme.example') THEN \
                 RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_session BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_session()",
            ],
        )
        .await;
        let answers: Vec<(usize, String)> = (0..2 * PEOPLE)
            .map(|i| (i % PEOPLE, response("a", "okta", &email(i % PEOPLE), &format!("_grp-{i}"), None)))
            .collect();
        let posts: Vec<usize> = (0..2 * answers.len()).map(|n| n % answers.len()).collect();
        let outcomes = at_once(posts, |a| {
            let (l, body) = (l.clone(), answers[a].1.clone());
            async move { (a, acs(&l, &body).await) }
        })
        .await;
        let mut signed = vec![0usize; answers.len()];
        let mut replayed = vec![0usize; answers.len()];
        for (a, outcome) in outcomes {
            match (answers[a].0, outcome) {
                (REFUSED, Err(err)) => assert_eq!(err.code(), "store.unavailable", "{}: {err}", e.name),
                (_, Ok(AcsOutcome::SignedIn(_))) => signed[a] += 1,
                (_, Err(Error::SamlReplayed)) => replayed[a] += 1,
                (p, other) => panic!("{}: answer {a} (person {p}): {:?}", e.name, other.map(|_| "a test report").map_err(|e| e.code())),
            }
        }
        for (a, (p, _)) in answers.iter().enumerate() {
            let want = if *p == REFUSED { (0, 0) } else { (1, 1) };
            assert_eq!((signed[a], replayed[a]), want, "{}: answer {a} (person {p})", e.name);
        }
        let s = &l.store;
        let kept = (PEOPLE + 2 * (PEOPLE - 1)) as i64;
        assert_eq!(count(s, "SELECT COUNT(*) FROM sessions").await, kept, "{}: seeds + 2 per person but one", e.name);
        assert_eq!(audit_kinds(s, "login.succeeded").await, kept, "{}", e.name);
        assert_eq!(
            count(s, "SELECT COUNT(*) FROM replay_cache WHERE assertion_id IN ('_grp-7', '_grp-19')").await,
            0,
            "{}: the refused person's answers left no replay record",
            e.name
        );
        if let Store::Postgres(pg) = s {
            // At least every answer that signed in went through the group statement.
            let g = pg.sign_in_groups();
            assert!(g.sign_ins >= 2 * (PEOPLE as u64 - 1), "{}: {g:?}", e.name);
        }
    })
    .await;
}

/// Link lookups asked at one moment go to PostgreSQL as one statement (`store::pg_lookups`):
/// each still gets its own answer — the linked person, nobody for an unknown identity, nobody
/// for a known identity asked with another tenant or connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn link_lookups_asked_at_once_each_get_their_own_answer() {
    const PEOPLE: usize = 10;
    each_backend(|e| async move {
        let l = &e.lanyard;
        setup(l).await;
        let c = okta(l).await;
        let email = |p: usize| format!("look{p}@acme.example");
        for p in 0..PEOPLE {
            signed_in(
                acs(
                    l,
                    &response("a", "okta", &email(p), &format!("_look-{p}"), None),
                )
                .await,
            );
        }
        for round in 0..3 {
            // (tenant, connection, federation ID, who should be found)
            let asks: Vec<(String, String, String, Option<String>)> = (0..4 * PEOPLE)
                .map(|i| {
                    let p = i % PEOPLE;
                    match i / PEOPLE {
                        0 | 1 => (c.tenant_id.clone(), c.id.clone(), email(p), Some(email(p))),
                        2 => (
                            c.tenant_id.clone(),
                            c.id.clone(),
                            format!("nobody{p}-{round}@acme.example"),
                            None,
                        ),
                        _ if p.is_multiple_of(2) => {
                            ("another-tenant".into(), c.id.clone(), email(p), None)
                        }
                        _ => (
                            c.tenant_id.clone(),
                            "another-connection".into(),
                            email(p),
                            None,
                        ),
                    }
                })
                .collect();
            let found = at_once(asks.clone(), |(t, conn, fid, _)| {
                let l = l.clone();
                async move { l.store.federated_user(&t, &conn, &fid).await.unwrap() }
            })
            .await;
            for ((t, conn, fid, want), got) in asks.iter().zip(found) {
                assert_eq!(
                    got.and_then(|u| u.email),
                    *want,
                    "{}: round {round}: {t} {conn} {fid}",
                    e.name
                );
            }
        }
    })
    .await;
}
