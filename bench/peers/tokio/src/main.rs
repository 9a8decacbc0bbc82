//! tokio-peer serves the benchmark's two loads with tokio's current-thread
//! runtime: one thread, like every server in the table.
//!
//!     tokio-peer echo 127.0.0.1:0    echo every byte back, through a 4 KiB buffer per
//!                                    connection (as the net baseline does)
//!     tokio-peer http 127.0.0.1:0    answer GET /plaintext, kept alive; every complete
//!                                    pipelined request of a read answered in one write
//!
//! It prints "listening on ADDR" once it is ready, and serves until it is
//! killed (go run ./bench sends SIGTERM, whose default action ends it).

use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 || (args[1] != "echo" && args[1] != "http") {
        eprintln!("usage: tokio-peer echo|http ADDR");
        std::process::exit(2);
    }
    let http = args[1] == "http";
    let addr = args[2].clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    // spawn_local would do too; spawn on a current-thread runtime runs the
    // task on this same thread.
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await.expect("bind");
        println!("listening on {}", listener.local_addr().expect("local_addr"));
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue, // EMFILE and friends: try again
            };
            let _ = stream.set_nodelay(true);
            if http {
                tokio::spawn(serve_http(stream));
            } else {
                tokio::spawn(serve_echo(stream));
            }
        }
    });
}

async fn serve_echo(mut stream: TcpStream) {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

const BODY: &[u8] = b"Hello, World!";

async fn serve_http(mut stream: TcpStream) {
    let mut input: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut date = Date::default();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        input.extend_from_slice(&buf[..n]);
        let mut used = 0;
        while let Some(end) = find(&input[used..], b"\r\n\r\n") {
            answer(&mut out, date.get());
            used += end + 4;
        }
        input.drain(..used);
        if input.len() > 8 << 10 {
            return; // a head too large: what our server answers 431 to
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn answer(out: &mut Vec<u8>, date: &[u8]) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: tokio\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\nContent-Type: text/plain\r\nContent-Length: ");
    out.extend_from_slice(BODY.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(BODY);
}

/// The Date header's value (IMF-fixdate), formatted at most once a second.
#[derive(Default)]
struct Date {
    sec: u64,
    text: Vec<u8>,
}

impl Date {
    fn get(&mut self) -> &[u8] {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if now != self.sec || self.text.is_empty() {
            self.sec = now;
            self.text = imf_fixdate(now).into_bytes();
        }
        &self.text
    }
}

/// Formats seconds since the epoch as "Sun, 06 Nov 1994 08:49:37 GMT".
fn imf_fixdate(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs / 86400;
    let rem = secs % 86400;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
