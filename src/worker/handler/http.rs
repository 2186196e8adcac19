//! `http`: a POST per message, over kept-alive connections. A 2xx answer
//! is success, and its JSON body may carry `{"emit": [...]}`. 4xx other
//! than 408 and 429 is a permanent failure; every other answer, and no
//! answer, a transient one.

use super::{Handler, HandlerFuture, MAX_OUTPUT, Request, tail};
use crate::worker::{Failure, Message, Reply};

/// A handler that POSTs each message to a URL (see the module docs).
pub struct Http {
    url: String,
    client: reqwest::Client,
}

impl Http {
    /// # Errors
    /// The HTTP client cannot be built (no TLS roots, say).
    pub fn new(url: &str) -> Result<Http, reqwest::Error> {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .build()?;
        Ok(Http {
            url: url.to_string(),
            client,
        })
    }
}

impl Handler for Http {
    fn call(&self, message: Message) -> HandlerFuture {
        let (client, url) = (self.client.clone(), self.url.clone());
        Box::pin(async move {
            let body = serde_json::to_vec(&Request {
                id: None,
                message: &message,
            })
            .map_err(|e| Failure::permanent(e.to_string()))?;
            let shown = crate::printable::redact(&url);
            let response = client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| Failure::transient(format!("POST {shown}: {e}")))?;
            let status = response.status();
            let bytes = read_capped(response).await?;
            if status.is_success() {
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Vec::new());
                }
                let reply: Reply = serde_json::from_slice(&bytes).map_err(|e| {
                    Failure::permanent(format!(
                        "POST {shown} answered {status} with a body that is not {{\"emit\": [...]}}: {e}"
                    ))
                })?;
                return reply.outcome();
            }
            let text = format!("POST {shown} answered {status}: {}", tail(&bytes));
            let code = status.as_u16();
            if status.is_client_error() && code != 408 && code != 429 {
                Err(Failure::permanent(text))
            } else {
                Err(Failure::transient(text))
            }
        })
    }
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Failure::transient(format!("reading the handler's answer: {e}")))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_OUTPUT {
            return Err(Failure::permanent(format!(
                "the handler answered more than {MAX_OUTPUT} bytes"
            )));
        }
    }
    Ok(bytes)
}
