use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    carenest::run().await
}
