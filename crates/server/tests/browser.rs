//! The web app in a real browser: Debian's Chromium driven through its WebDriver
//! (`chromedriver`), against the real server on a real port, on both backends. A parent
//! registers, makes a profile, adds a child and a goal, moves the goal's progress on, switches
//! language and signs out, with JavaScript on and off; every page passes axe-core's checks in
//! both languages and none scrolls sideways on a 360-pixel-wide phone.
//!
//! Without Chromium these tests say "skipped"; with `CARENEST_REQUIRE_BROWSER=1` (as `.ci/run`
//! sets it) a missing browser, driver or axe-core is a failure. axe-core comes from npm at test
//! time: `CARENEST_AXE` names its `axe.min.js`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use carenest_server::{app, AppState, Settings};
use carenest_store_tests::{on_both_backends, TestDb};
use serde_json::Value;
use thirtyfour::prelude::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn required() -> bool {
    std::env::var("CARENEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1" || v == "true")
}

/// axe-core's script, when it is there.
fn axe() -> Option<String> {
    let path = std::env::var("CARENEST_AXE").ok()?;
    std::fs::read_to_string(path).ok()
}

fn browser_installed() -> bool {
    let present = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(!required(), "CARENEST_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing");
        eprintln!("skipped: the browser test (no {CHROMIUM} and {CHROMEDRIVER}; apt install chromium chromium-driver)");
    }
    present
}

/// A chromedriver of this test's own, on a free port.
struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { process, url }
    }

    async fn browser(&self, javascript: bool, width: u32) -> WebDriver {
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=nl"] {
            caps.add_arg(arg).unwrap();
        }
        if javascript {
            // A phone's viewport (headless windows have a larger minimum width than phones),
            // where the pages' widths are checked.
            let metrics = serde_json::json!({"deviceMetrics": {"width": width, "height": 800, "pixelRatio": 1}});
            caps.add_experimental_option("mobileEmulation", metrics).unwrap();
        }
        // A Dutch browser, as most of the practice's families have.
        let mut prefs = serde_json::json!({"intl.accept_languages": "nl-NL,nl"});
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = serde_json::json!(2);
        }
        caps.add_experimental_option("prefs", prefs).unwrap();
        WebDriver::new(&self.url, caps).await.expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The app on a real port of its own, with a small catalogue of goals to suggest.
async fn serve(db: &TestDb) -> String {
    let templates = [("sleep-routine", "sleep", "A calm bedtime routine", "Een rustig bedritueel", "slaap sleep")].map(
        |(key, category, title, title_nl, tags)| carenest_domain::suggestions::NewGoalTemplate {
            key: key.to_owned(),
            category: category.to_owned(),
            title: title.to_owned(),
            description: "The same steps every evening.".to_owned(),
            title_nl: title_nl.to_owned(),
            description_nl: "Elke avond dezelfde stappen.".to_owned(),
            tags: tags.split(' ').map(str::to_owned).collect(),
            min_age: None,
            max_age: None,
        },
    );
    db.store().upsert_goal_templates(&templates).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let state = AppState::new(db.store(), Settings::default());
    let router = app(state);
    tokio::spawn(carenest_server::serve::serve(listener, router, Default::default(), std::future::pending()));
    format!("http://{address}")
}

async fn fill(browser: &WebDriver, id: &str, text: &str) {
    let field = browser.find(By::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(browser: &WebDriver, selector: &str) {
    browser.find(By::Css(selector)).await.unwrap().click().await.unwrap();
}

async fn submit(browser: &WebDriver, form: &str) {
    click(browser, &format!("{form} button[type=submit]")).await;
}

/// The main content's text; empty while a page is being replaced.
async fn text(browser: &WebDriver) -> String {
    match browser.find(By::Tag("main")).await {
        Ok(main) => main.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn lang(browser: &WebDriver) -> String {
    match browser.find(By::Tag("html")).await {
        Ok(html) => html.attr("lang").await.ok().flatten().unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits (up to ten seconds) for what a navigation leads to.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn at(browser: &WebDriver, path: &str) {
    until(path, || async { browser.current_url().await.is_ok_and(|url| url.path() == path) }).await;
}

async fn shows(browser: &WebDriver, needle: &str) {
    until(needle, || async { text(browser).await.contains(needle) }).await;
}

/// What a page must hold to: axe-core finds no violation (when scripts run), and nothing is
/// wider than the window.
async fn check_page(browser: &WebDriver, axe: Option<&str>, name: &str) {
    if let Some(axe) = axe {
        browser.execute(axe, Vec::new()).await.expect("axe-core loads");
        let result = browser
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})
                    .then(r => done({
                        passes: r.passes.length,
                        violations: r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')),
                    }));",
                Vec::new(),
            )
            .await
            .unwrap();
        let result = result.json();
        assert!(result["passes"].as_u64().unwrap_or(0) > 10, "axe-core did not run its checks on {name}: {result}");
        let violations: Vec<String> = serde_json::from_value(result["violations"].clone()).unwrap();
        let lang = lang(browser).await;
        assert!(violations.is_empty(), "{name} ({lang}) breaks accessibility rules: {violations:?}");
        let wide: Value = browser
            .execute(
                "return window.innerWidth !== 360 || document.documentElement.scrollWidth > window.innerWidth;",
                Vec::new(),
            )
            .await
            .unwrap()
            .json()
            .clone();
        assert_eq!(wide, Value::Bool(false), "{name} ({lang}) is not 360 pixels wide, or scrolls sideways");
    }
}

/// Saves a screenshot for the README.
async fn screenshot(browser: &WebDriver, name: &str) {
    let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    browser.screenshot(&folder.join(format!("{name}.png"))).await.unwrap();
}

async fn a_parent_signs_up_and_keeps_a_family(db: &TestDb, javascript: bool) {
    if !browser_installed() {
        return;
    }
    let axe = if javascript { axe() } else { None };
    assert!(!(javascript && required() && axe.is_none()), "CARENEST_REQUIRE_BROWSER is set but CARENEST_AXE is not");
    let base = serve(db).await;
    let driver = Driver::start().await;
    let browser = driver.browser(javascript, 360).await;
    let username = if javascript { "anna" } else { "bert" };

    browser.goto(&base).await.unwrap();
    at(&browser, "/login").await;
    assert_eq!(lang(&browser).await, "nl", "Dutch by default");
    check_page(&browser, axe.as_deref(), "login").await;
    if javascript {
        screenshot(&browser, "login").await;
    }
    click(&browser, "main a[href='/register']").await;
    at(&browser, "/register").await;
    check_page(&browser, axe.as_deref(), "register").await;
    fill(&browser, "username", username).await;
    fill(&browser, "email", &format!("{username}@example.org")).await;
    if javascript {
        // Past the browser's own check, the server's: shown next to its field.
        browser.execute("document.getElementById('password').removeAttribute('minlength')", Vec::new()).await.unwrap();
        fill(&browser, "password", "short").await;
        submit(&browser, "main form").await;
        until("the password's error", || async { browser.find(By::Id("password-error")).await.is_ok() }).await;
        check_page(&browser, axe.as_deref(), "register with an error").await;
    }
    fill(&browser, "password", "correct horse battery").await;
    submit(&browser, "main form").await;
    // Onboarding: each step saved as it is sent, and resumed where it stopped.
    at(&browser, "/onboarding").await;
    shows(&browser, "Stap 1 van 4").await;
    check_page(&browser, axe.as_deref(), "onboarding, about you").await;
    fill(&browser, "name", "Anna de Vries").await;
    click(&browser, "label[for='stress-moderate']").await;
    click(&browser, "label[for='experience-first_time']").await;
    submit(&browser, "main form").await;
    shows(&browser, "Stap 2 van 4").await;
    check_page(&browser, axe.as_deref(), "onboarding, concerns").await;
    click(&browser, "label[for='concern-sleep']").await;
    submit(&browser, "main form").await;
    shows(&browser, "Stap 3 van 4").await;
    browser.goto(&format!("{base}/home")).await.unwrap();
    shows(&browser, "Welkom, Anna de Vries").await;
    check_page(&browser, axe.as_deref(), "home").await;
    click(&browser, "main a[href='/onboarding']").await;
    shows(&browser, "Stap 3 van 4").await;
    check_page(&browser, axe.as_deref(), "onboarding, support").await;
    click(&browser, "label[for='support-family']").await;
    submit(&browser, "main form").await;
    shows(&browser, "Stap 4 van 4").await;
    submit(&browser, "main form").await;
    at(&browser, "/home").await;
    assert!(!text(&browser).await.contains("Ga verder"), "onboarding is complete");

    click(&browser, "a[href='/children/new']").await;
    at(&browser, "/children/new").await;
    check_page(&browser, axe.as_deref(), "child").await;
    fill(&browser, "name", "Noor").await;
    fill(&browser, "age", "4").await;
    fill(&browser, "specialNeeds", "slaap, prikkels").await;
    submit(&browser, "main form").await;
    at(&browser, "/home").await;
    shows(&browser, "4 jaar").await;
    click(&browser, "a[href$='/edit']").await;
    check_page(&browser, axe.as_deref(), "child, edited").await;
    fill(&browser, "age", "5").await;
    submit(&browser, "main form").await;
    at(&browser, "/home").await;
    shows(&browser, "5 jaar").await;

    click(&browser, "a[href='/goals/new']").await;
    at(&browser, "/goals/new").await;
    check_page(&browser, axe.as_deref(), "goal").await;
    fill(&browser, "title", "Beter slapen").await;
    browser.find(By::Css("#childProfileId option:nth-child(2)")).await.unwrap().click().await.unwrap();
    submit(&browser, "main form").await;
    at(&browser, "/home").await;
    shows(&browser, "Beter slapen").await;
    let progress = browser.find(By::Css("input[name=progress]")).await.unwrap();
    progress.clear().await.unwrap();
    progress.send_keys("40").await.unwrap();
    click(&browser, "form[action$='/progress'] button").await;
    shows(&browser, "40%").await;
    if javascript {
        screenshot(&browser, "home").await;
    }

    click(&browser, "a[href='/suggestions']").await;
    at(&browser, "/suggestions").await;
    check_page(&browser, axe.as_deref(), "suggestions").await;
    let adopted = browser.find(By::Css("main .card h2")).await.unwrap().text().await.unwrap();
    click(&browser, "main .card form button").await;
    at(&browser, "/home").await;
    shows(&browser, &adopted).await;
    for (path, name) in [("/sessions", "sessions"), ("/access-log", "access log"), ("/account", "account")] {
        click(&browser, &format!("nav a[href='{path}']")).await;
        at(&browser, path).await;
        check_page(&browser, axe.as_deref(), name).await;
    }
    if javascript {
        browser.goto(&format!("{base}/sessions")).await.unwrap();
        click(&browser, "form[action='/calendar'] button").await;
        until("the calendar link", || async { browser.find(By::Id("feed-url")).await.is_ok() }).await;
        let url = browser.find(By::Id("feed-url")).await.unwrap().value().await.unwrap().unwrap();
        assert!(url.contains("/feeds/") && url.ends_with(".ics"), "{url}");
        check_page(&browser, axe.as_deref(), "sessions with a calendar link").await;
    }

    browser.goto(&format!("{base}/home")).await.unwrap();
    let select = browser.find(By::Id("lang")).await.unwrap();
    select.find(By::Css("option[value=en]")).await.unwrap().click().await.unwrap();
    click(&browser, "form.language button").await;
    shows(&browser, "Welcome, Anna de Vries").await;
    assert_eq!(lang(&browser).await, "en");
    check_page(&browser, axe.as_deref(), "home").await;
    let english = [
        ("/onboarding", "onboarding"),
        ("/profile", "profile"),
        ("/children/new", "child"),
        ("/goals/new", "goal"),
        ("/sessions", "sessions"),
        ("/suggestions", "suggestions"),
        ("/access-log", "access log"),
        ("/account", "account"),
    ];
    for (path, name) in english {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        at(&browser, path).await;
        check_page(&browser, axe.as_deref(), name).await;
    }
    browser.goto(&format!("{base}/home")).await.unwrap();
    click(&browser, "form[action='/logout'] button").await;
    at(&browser, "/login").await;
    check_page(&browser, axe.as_deref(), "login").await;
    browser.goto(&format!("{base}/register")).await.unwrap();
    check_page(&browser, axe.as_deref(), "register").await;
    browser.goto(&format!("{base}/home")).await.unwrap();
    at(&browser, "/login").await;

    // Signed in again, the family erases its account; the password is asked first.
    fill(&browser, "username", username).await;
    fill(&browser, "password", "correct horse battery").await;
    submit(&browser, "main form").await;
    at(&browser, "/home").await;
    browser.goto(&format!("{base}/account")).await.unwrap();
    fill(&browser, "password", "not my password").await;
    submit(&browser, "form[action='/account/delete']").await;
    until("the password's error", || async { browser.find(By::Id("password-error")).await.is_ok() }).await;
    fill(&browser, "password", "correct horse battery").await;
    submit(&browser, "form[action='/account/delete']").await;
    at(&browser, "/login").await;
    fill(&browser, "username", username).await;
    fill(&browser, "password", "correct horse battery").await;
    submit(&browser, "main form").await;
    until("the sign-in to be refused", || async { text(&browser).await.contains("not right") }).await;
    browser.quit().await.unwrap();
}

/// An account made through the API, as a newcomer would register; its token.
async fn register(base: &str, username: &str) -> (i64, String) {
    let body = serde_json::json!({"username": username, "email": format!("{username}@example.org"), "password": "correct horse battery"});
    let answer: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (answer["user"]["id"].as_i64().unwrap(), answer["token"].as_str().unwrap().to_owned())
}

async fn api(base: &str, token: &str, path: &str, body: Value) -> Value {
    let answer =
        reqwest::Client::new().post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

async fn sign_in(browser: &WebDriver, base: &str, username: &str) {
    browser.goto(&format!("{base}/login")).await.unwrap();
    fill(browser, "username", username).await;
    fill(browser, "password", "correct horse battery").await;
    submit(browser, "main form").await;
    at(browser, "/home").await;
}

async fn a_therapist_keeps_notes_and_staff_book_around_a_conflict(db: &TestDb, javascript: bool) {
    if !browser_installed() {
        return;
    }
    let axe = if javascript { axe() } else { None };
    let base = serve(db).await;
    // The practice: an admin, a therapist with a login and one without, a family with a child,
    // and a joint session tomorrow at ten.
    let (admin_id, _) = register(&base, "boss").await;
    db.store().set_role(carenest_domain::ids::UserId(admin_id), carenest_domain::accounts::Role::Admin).await.unwrap();
    let admin = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "boss", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (tess_user, _) = register(&base, "tess").await;
    let tess = api(&base, &admin, "/api/v1/therapists", serde_json::json!({"name": "Tess", "userId": tess_user})).await
        ["id"]
        .clone();
    let bram = api(&base, &admin, "/api/v1/therapists", serde_json::json!({"name": "Bram"})).await["id"].clone();
    let (_, anna) = register(&base, "anna").await;
    api(
        &base,
        &anna,
        "/api/v1/parent-profile",
        serde_json::json!({"name": "Anna", "stressLevel": "low", "experienceLevel": "first_time"}),
    )
    .await;
    let noor = api(&base, &anna, "/api/v1/children", serde_json::json!({"name": "Noor", "age": 4})).await["id"].clone();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let session = serde_json::json!({"date": tomorrow, "startTime": "10:00", "endTime": "10:45", "therapistIds": [tess, bram], "childProfileId": noor});
    let booked = api(&base, &admin, "/api/v1/sessions", session).await["id"].clone();

    let driver = Driver::start().await;
    let browser = driver.browser(javascript, 360).await;
    sign_in(&browser, &base, "tess").await;
    click(&browser, "nav a[href='/week']").await;
    browser.goto(&format!("{base}/week?date={tomorrow}")).await.unwrap();
    shows(&browser, "10:00–10:45").await;
    check_page(&browser, axe.as_deref(), "a therapist's week").await;
    click(&browser, &format!("a[href='/session/{booked}']")).await;
    at(&browser, &format!("/session/{booked}")).await;
    check_page(&browser, axe.as_deref(), "a session").await;
    assert!(browser.find(By::Css("form[action$='/move']")).await.is_err(), "a therapist can't move sessions");
    fill(&browser, "notes", "Werkte goed mee.").await;
    submit(&browser, "form[action$='/notes']").await;
    shows(&browser, "Notities bewaard").await;
    browser.goto(&format!("{base}/session/{booked}")).await.unwrap();
    let note = browser.find(By::Id("notes")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(note, "Werkte goed mee.");
    // The therapist's own pages in English too.
    browser.find(By::Css("#lang option[value=en]")).await.unwrap().click().await.unwrap();
    click(&browser, "form.language button").await;
    until("English", || async { lang(&browser).await == "en" }).await;
    for path in [format!("/week?date={tomorrow}"), format!("/session/{booked}"), format!("/staff/therapists/{tess}")] {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        until(&path, || async { browser.current_url().await.is_ok_and(|url| url.as_str().ends_with(path.as_str())) })
            .await;
        check_page(&browser, axe.as_deref(), &path).await;
    }
    browser.find(By::Css("#lang option[value=nl]")).await.unwrap().click().await.unwrap();
    click(&browser, "form.language button").await;
    until("Dutch", || async { lang(&browser).await == "nl" }).await;
    click(&browser, "form[action='/logout'] button").await;
    at(&browser, "/login").await;

    // Staff try the same therapists a quarter of an hour later: refused, and told why.
    sign_in(&browser, &base, "boss").await;
    let clash =
        format!("{base}/book?date={tomorrow}&startTime=10:15&endTime=11:00&therapistIds={tess}&therapistIds={bram}");
    browser.goto(&clash).await.unwrap();
    check_page(&browser, axe.as_deref(), "booking").await;
    click(&browser, "main form button[type=submit]:not([formaction])").await;
    shows(&browser, "Tess heeft al een sessie op").await;
    shows(&browser, "Bram heeft al een sessie op").await;
    check_page(&browser, axe.as_deref(), "booking with conflicts").await;
    // A free slot for both instead, booked for Noor.
    click(&browser, "button[formaction='/free']").await;
    at(&browser, "/free").await;
    check_page(&browser, axe.as_deref(), "free slots").await;
    click(&browser, "main li a").await;
    at(&browser, "/book").await;
    fill(&browser, "child", "noor").await;
    click(&browser, "button[formaction='/book/find-child']").await;
    until("Noor among the children", || async {
        browser.find(By::Css("#childProfileId option[value]:not([value=''])")).await.is_ok()
    })
    .await;
    browser.find(By::Css("#childProfileId option:nth-child(2)")).await.unwrap().click().await.unwrap();
    click(&browser, "main form button[type=submit]:not([formaction])").await;
    shows(&browser, "1 sessie(s) geboekt").await;
    browser.goto(&format!("{base}/practice?view=week&date={tomorrow}")).await.unwrap();
    check_page(&browser, axe.as_deref(), "the practice's week").await;
    let week = text(&browser).await;
    assert!(week.matches("Tess, Bram").count() >= 2 || week.matches("Bram, Tess").count() >= 2, "{week}");
    if javascript {
        screenshot(&browser, "practice-week").await;
    }
    let staff_pages = [
        (format!("/week?date={tomorrow}&therapist={tess}"), "a therapist's week, for staff"),
        (format!("/session/{booked}"), "a session, for staff"),
        (format!("/practice?view=day&date={tomorrow}"), "the practice's day"),
        (format!("/practice?view=week&date={tomorrow}"), "the practice's week"),
        ("/book".to_owned(), "booking"),
        ("/staff/therapists".to_owned(), "therapists"),
        (format!("/staff/therapists/{tess}"), "working hours and time off"),
        ("/staff/users".to_owned(), "users and roles"),
        ("/staff/audit".to_owned(), "the audit log"),
    ];
    for language in ["nl", "en"] {
        if language == "en" {
            browser.goto(&format!("{base}/home")).await.unwrap();
            browser.find(By::Css("#lang option[value=en]")).await.unwrap().click().await.unwrap();
            click(&browser, "form.language button").await;
            until("English", || async { lang(&browser).await == "en" }).await;
        }
        for (path, name) in &staff_pages {
            browser.goto(&format!("{base}{path}")).await.unwrap();
            until(name, || async {
                browser.current_url().await.is_ok_and(|url| url.as_str().ends_with(path.as_str()))
            })
            .await;
            check_page(&browser, axe.as_deref(), name).await;
        }
    }
    browser.quit().await.unwrap();
}

async fn a_therapist_keeps_notes_and_staff_book_around_a_conflict_with_scripts(db: &TestDb) {
    a_therapist_keeps_notes_and_staff_book_around_a_conflict(db, true).await;
}

async fn a_therapist_keeps_notes_and_staff_book_around_a_conflict_without_scripts(db: &TestDb) {
    a_therapist_keeps_notes_and_staff_book_around_a_conflict(db, false).await;
}

async fn a_parent_signs_up_and_keeps_a_family_with_scripts(db: &TestDb) {
    a_parent_signs_up_and_keeps_a_family(db, true).await;
}

async fn a_parent_signs_up_and_keeps_a_family_without_scripts(db: &TestDb) {
    a_parent_signs_up_and_keeps_a_family(db, false).await;
}

on_both_backends!(
    a_parent_signs_up_and_keeps_a_family_with_scripts,
    a_parent_signs_up_and_keeps_a_family_without_scripts,
    a_therapist_keeps_notes_and_staff_book_around_a_conflict_with_scripts,
    a_therapist_keeps_notes_and_staff_book_around_a_conflict_without_scripts,
);
