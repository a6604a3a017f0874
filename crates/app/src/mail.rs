//! Email over SMTP with lettre: `smtp://host:port` (plain, or STARTTLS with `?tls=required`),
//! `smtps://user:password@host` (TLS from the first byte). The URL's password is never printed.

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::reminders::{Email, Mailer, SendError};

/// Sends through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `url`, sending as `from` (`CareNest <noreply@example.org>`); each SMTP
    /// command waits at most `timeout` for the server.
    pub fn new(url: &str, from: &str, timeout: std::time::Duration) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| format!("smtp_url is not an SMTP URL such as smtp://127.0.0.1:2525: {error}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from: parse_from(from)? })
    }
}

/// Checks `mail_from` the way the mailer reads it.
pub fn parse_from(from: &str) -> Result<Mailbox, String> {
    from.parse().map_err(|_| format!("mail_from '{from}' is not an address such as CareNest <noreply@example.org>"))
}

fn message(from: &Mailbox, email: &Email) -> Result<Message, SendError> {
    let permanent = |message: String| SendError { permanent: true, message };
    let address = email
        .to_address
        .parse()
        .map_err(|_| permanent("the recipient's address is not a valid email address".into()))?;
    let to = Mailbox::new(Some(email.to_name.clone()), address);
    let calendar = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH").expect("a valid content type");
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()))
        .multipart(
            MultiPart::mixed()
                .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
                .singlepart(Attachment::new("session.ics".to_owned()).body(email.calendar.clone(), calendar)),
        )
        .map_err(|error| permanent(format!("the message could not be built: {error}")))
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), SendError> {
        let message = message(&self.from, email)?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|error| SendError { permanent: error.is_permanent(), message: error.to_string() })
    }
}
