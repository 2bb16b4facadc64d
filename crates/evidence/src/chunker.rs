//! Cuts a byte stream into blocks of whole lines (or whole CSV records) of about `chunk_bytes`,
//! so that workers can parse blocks independently. Lines longer than `max_line_bytes` are
//! skipped without ever being held whole in memory.

use std::io::{self, Read};

pub(crate) struct Chunker<R> {
    reader: R,
    buf: Vec<u8>,
    chunk_bytes: usize,
    max_line_bytes: usize,
    /// CSV: a newline inside quotes does not end a record.
    quote_aware: bool,
    eof: bool,
    skipping: bool,
    /// Lines skipped here for being too long.
    pub(crate) too_long: u64,
    pub(crate) bytes_read: u64,
}

impl<R: Read> Chunker<R> {
    pub(crate) fn new(
        reader: R,
        chunk_bytes: usize,
        max_line_bytes: usize,
        quote_aware: bool,
    ) -> Self {
        Chunker {
            reader,
            buf: Vec::with_capacity(chunk_bytes),
            chunk_bytes: chunk_bytes.max(1),
            max_line_bytes: max_line_bytes.max(1),
            quote_aware,
            eof: false,
            skipping: false,
            too_long: 0,
            bytes_read: 0,
        }
    }

    /// Reads until `buf` holds `target` bytes or the input ends.
    fn fill(&mut self, target: usize) -> io::Result<()> {
        let mut tmp = [0u8; 64 * 1024];
        while !self.eof && self.buf.len() < target {
            let want = (target - self.buf.len()).min(tmp.len());
            match self.reader.read(&mut tmp[..want]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.bytes_read += n as u64;
                    self.buf.extend_from_slice(&tmp[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn boundary(&self) -> Option<usize> {
        if !self.quote_aware {
            return memchr::memrchr(b'\n', &self.buf);
        }
        let mut in_quotes = false;
        let mut last = None;
        for pos in memchr::memchr2_iter(b'"', b'\n', &self.buf) {
            if self.buf[pos] == b'"' {
                in_quotes = !in_quotes;
            } else if !in_quotes {
                last = Some(pos);
            }
        }
        last
    }

    /// The next block of whole lines, or `None` at the end.
    pub(crate) fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut target = self.chunk_bytes;
        loop {
            self.fill(target)?;
            if self.skipping {
                match memchr::memchr(b'\n', &self.buf) {
                    Some(i) => {
                        self.buf.drain(..=i);
                        self.skipping = false;
                    }
                    None => {
                        self.buf.clear();
                        if self.eof {
                            return Ok(None);
                        }
                        continue;
                    }
                }
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                if self.buf.len() > self.max_line_bytes && self.boundary().is_none() {
                    self.too_long += 1;
                    self.buf.clear();
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.buf)));
            }
            match self.boundary() {
                Some(i) => {
                    let rest = self.buf.split_off(i + 1);
                    let chunk = std::mem::replace(&mut self.buf, rest);
                    self.buf.reserve(self.chunk_bytes);
                    return Ok(Some(chunk));
                }
                None if self.buf.len() > self.max_line_bytes => {
                    self.too_long += 1;
                    self.skipping = true;
                    self.buf.clear();
                    target = self.chunk_bytes;
                }
                None => {
                    target = (self.buf.len() + self.chunk_bytes)
                        .min(self.max_line_bytes + 1)
                        .max(self.buf.len() + 1)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(input: &[u8], chunk: usize, max_line: usize, quotes: bool) -> (Vec<Vec<u8>>, u64) {
        let mut c = Chunker::new(input, chunk, max_line, quotes);
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk().expect("read") {
            out.push(ch);
        }
        (out, c.too_long)
    }

    #[test]
    fn chunks_end_on_line_boundaries_and_lose_nothing() {
        let text: Vec<u8> = (0..1000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let (out, long) = chunks(&text, 100, 1000, false);
        assert_eq!(long, 0);
        assert!(out.iter().all(|c| c.ends_with(b"\n")));
        assert_eq!(out.concat(), text);
    }

    #[test]
    fn an_over_long_line_is_skipped_and_counted() {
        let mut text = b"a\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10_000));
        text.extend_from_slice(b"\nb\nc");
        let (out, long) = chunks(&text, 64, 1000, false);
        assert_eq!(long, 1);
        assert_eq!(out.concat(), b"a\nb\nc");
    }

    #[test]
    fn an_over_long_last_line_is_counted() {
        let text = vec![b'y'; 5000];
        let (out, long) = chunks(&text, 64, 1000, false);
        assert_eq!((out.len(), long), (0, 1));
    }

    #[test]
    fn quoted_newlines_do_not_split_csv_records() {
        let text = b"a,\"x\ny\"\nb,c\n";
        let (out, _) = chunks(text, 4, 1000, true);
        assert!(out.iter().all(|c| c.ends_with(b"\n")));
        assert_eq!(out[0], b"a,\"x\ny\"\n");
    }
}
