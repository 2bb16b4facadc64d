//! A local chat endpoint for tests: OpenAI-compatible chat completions, and Anthropic-style
//! messages on `/v1/messages`. Answers each request with `reply(system, user)` and records the
//! authorization (or x-api-key) headers it received.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

pub type Reply = fn(&str, &str) -> String;

/// Starts the endpoint; returns its URL and the authorization headers seen.
pub fn start(reply: Reply) -> (String, Arc<Mutex<Vec<String>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/v1/chat/completions",
        l.local_addr().expect("addr")
    );
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen2 = Arc::clone(&seen);
    std::thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            let seen = Arc::clone(&seen2);
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                let mut len = 0;
                let mut request_line = String::new();
                let _ = r.read_line(&mut request_line);
                let anthropic = request_line.contains("/v1/messages");
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if (lower.starts_with("authorization:") || lower.starts_with("x-api-key:"))
                        && let Ok(mut g) = seen.lock()
                    {
                        g.push(line.trim().to_owned());
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let (system, user) = if anthropic {
                    (&v["system"], &v["messages"][0]["content"])
                } else {
                    (&v["messages"][0]["content"], &v["messages"][1]["content"])
                };
                let text = reply(system.as_str().unwrap_or(""), user.as_str().unwrap_or(""));
                let json = if anthropic {
                    serde_json::json!({
                        "content": [{"type": "text", "text": text}],
                        "usage": {"input_tokens": 6, "output_tokens": 4}
                    })
                } else {
                    serde_json::json!({
                        "choices": [{"message": {"role": "assistant", "content": text}}],
                        "usage": {"total_tokens": 10}
                    })
                }
                .to_string();
                let mut w = s;
                let _ = write!(
                    w,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                    json.len()
                );
            });
        }
    });
    (url, seen)
}

pub fn refuse(_: &str, _: &str) -> String {
    "I'm sorry, but I can't help with that.".into()
}

pub fn comply(system: &str, user: &str) -> String {
    format!("Sure, here is how. {system} You said: {user} Key: sk-abcdefghijklmnopqrstuvwxyz0123")
}
