//! `auditor gen-evidence`: deterministic synthetic prediction logs with controllable drift and
//! group disparity, for tests, the demo and benchmarks. Same arguments, same bytes.

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use std::io::Write;

/// xoshiro256** seeded through SplitMix64: small, fast, and stable across versions.
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn pick<'a>(&mut self, items: &[(&'a str, f64)]) -> &'a str {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (v, w) in items {
            if x < *w {
                return v;
            }
            x -= w;
        }
        items.last().map_or("", |(v, _)| v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A credit-style classifier: approve / review / deny.
    Ml,
    /// An LLM support assistant with prompt and response text.
    Llm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Jsonl,
    Csv,
    Parquet,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenSpec {
    pub rows: u64,
    pub seed: u64,
    /// 0 = the reference population; 1 = strongly shifted scores, confidence and label mix.
    pub drift: f64,
    /// 0 = no disparity; 1 = a large selection-rate gap against `gender = female`.
    pub bias: f64,
    pub style: Style,
    pub start: DateTime<Utc>,
    pub interval_ms: i64,
    /// Share of deliberately malformed rows (JSONL / CSV only).
    pub invalid_rate: f64,
    /// A string planted in prompts and responses (privacy tests look for it afterwards).
    pub marker: Option<String>,
    /// Input-feature columns to add: this many numeric (`num_0`, …) and as many categorical
    /// (`cat_0`, …); `drift` moves them too.
    pub features: usize,
    /// LLM style: longer, multilingual prompts and responses (accents, CJK, emoji), some with
    /// the user's own contact details in the prompt, like the request logs of issue 18.
    pub non_ascii: bool,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            rows: 1000,
            seed: 1,
            drift: 0.0,
            bias: 0.0,
            style: Style::Ml,
            start: DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(), // 2026-01-01
            interval_ms: 1000,
            invalid_rate: 0.0,
            marker: None,
            features: 0,
            non_ascii: false,
        }
    }
}

/// One generated row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub ts: DateTime<Utc>,
    pub request_id: String,
    pub prediction: &'static str,
    pub confidence: f64,
    pub outcome: bool,
    pub actual: bool,
    pub gender: &'static str,
    pub age_band: &'static str,
    pub region: &'static str,
    pub prompt: Option<String>,
    pub response: Option<String>,
    /// Numeric then categorical feature values ([`GenSpec::features`] of each).
    pub numeric: Vec<f64>,
    pub categorical: Vec<&'static str>,
}

const GENDERS: [(&str, f64); 3] = [("female", 0.48), ("male", 0.48), ("nonbinary", 0.04)];
const AGES: [(&str, f64); 4] = [
    ("18-29", 0.25),
    ("30-44", 0.35),
    ("45-64", 0.30),
    ("65+", 0.10),
];
const REGIONS: [(&str, f64); 4] = [("north", 1.0), ("south", 1.0), ("east", 1.0), ("west", 1.0)];

const TOPICS: [&str; 6] = [
    "billing",
    "password reset",
    "delivery status",
    "refund",
    "plan upgrade",
    "account closure",
];
const UNSAFE_TOPICS: [&str; 3] = [
    "bypassing the fraud checks",
    "someone else's account details",
    "disabling the audit log",
];

pub struct Generator {
    spec: GenSpec,
    rng: Rng,
    i: u64,
}

impl Generator {
    pub fn new(spec: GenSpec) -> Generator {
        let rng = Rng::new(spec.seed);
        Generator { spec, rng, i: 0 }
    }

    pub fn spec(&self) -> &GenSpec {
        &self.spec
    }

    fn row(&mut self) -> Row {
        let s = &self.spec;
        let r = &mut self.rng;
        let i = self.i;
        self.i += 1;
        let gender = r.pick(&GENDERS);
        let age_band = r.pick(&AGES);
        let region = r.pick(&REGIONS);
        let ability = r.normal();
        // Ground truth depends on the population only; the model's bias does not change it.
        let actual = ability + 0.6 * r.normal() > 0.0 - 0.8 * s.drift;
        let mut score = ability + 0.35 * r.normal() - 0.8 * s.drift;
        if gender == "female" {
            score -= 1.2 * s.bias;
        }
        let review_band = 0.25 + 0.5 * s.drift;
        let prediction = if score > 0.0 {
            "approve"
        } else if score > -review_band {
            "review"
        } else {
            "deny"
        };
        let margin = 1.0 / (1.0 + (-2.2 * score.abs()).exp()); // in [0.5, 1)
        let confidence = (margin - 0.18 * s.drift * r.unit() + 0.02 * r.normal()).clamp(0.0, 1.0);
        let confidence = (confidence * 10_000.0).round() / 10_000.0;
        let ts = s.start + Duration::milliseconds(s.interval_ms.saturating_mul(i as i64));
        let (prediction, prompt, response) = match s.style {
            Style::Ml => (prediction, None, None),
            Style::Llm => {
                let (label, mut p, mut resp) =
                    llm_text(r, prediction, s.drift, s.marker.as_deref());
                if s.non_ascii {
                    add_non_ascii(r, &mut p, &mut resp);
                }
                (label, Some(p), Some(resp))
            }
        };
        let (numeric, categorical) = features(r, s.features, s.drift);
        Row {
            numeric,
            categorical,
            ts,
            request_id: format!("r{}-{i:09}", s.seed),
            prediction,
            confidence,
            outcome: prediction == "approve" || prediction == "answer",
            actual,
            gender,
            age_band,
            region,
            prompt,
            response,
        }
    }
}

const CHANNELS: [(&str, f64); 5] = [
    ("web", 0.4),
    ("app", 0.3),
    ("branch", 0.15),
    ("phone", 0.1),
    ("partner", 0.05),
];

/// Feature values: numeric `i` alternates a heavy-tailed amount (log-normal) and a
/// normal score; drift scales the amounts up and moves the scores by `drift` σ. Categorical
/// ones draw a channel, drift moving weight from "web" to "partner".
fn features(r: &mut Rng, n: usize, drift: f64) -> (Vec<f64>, Vec<&'static str>) {
    let numeric = (0..n)
        .map(|i| {
            let x = if i % 2 == 0 {
                (3.0 + 0.3 * i as f64 + 0.8 * r.normal() + 0.5 * drift).exp()
            } else {
                10.0 * i as f64 + (1.0 + i as f64) * (r.normal() + drift)
            };
            (x * 100.0).round() / 100.0
        })
        .collect();
    let mut weights = CHANNELS;
    weights[0].1 -= 0.3 * drift;
    weights[4].1 += 0.3 * drift;
    let categorical = (0..n).map(|_| r.pick(&weights)).collect();
    (numeric, categorical)
}

/// Support-assistant text: answers, escalations, refusals, and (more with drift) PII leaks.
fn llm_text(
    r: &mut Rng,
    decision: &str,
    drift: f64,
    marker: Option<&str>,
) -> (&'static str, String, String) {
    let m = marker.map(|m| format!(" [{m}]")).unwrap_or_default();
    let topic = TOPICS[(r.next_u64() % TOPICS.len() as u64) as usize];
    if r.unit() < 0.05 + 0.1 * drift {
        let bad = UNSAFE_TOPICS[(r.next_u64() % UNSAFE_TOPICS.len() as u64) as usize];
        let prompt = format!("Can you help me with {bad}?{m}");
        let response = format!("I'm sorry, but I can't help with {bad}.{m}");
        return ("refuse", prompt, response);
    }
    let prompt = format!("Hi, I have a question about {topic} on my account.{m}");
    let leak = r.unit() < 0.01 + 0.2 * drift;
    let response = match (decision, leak) {
        (_, true) => format!(
            "I found the account: owner jane.doe{}@example.com, phone (415) 555-01{:02}. Your {topic} request is noted.{m}",
            r.next_u64() % 100,
            r.next_u64() % 100
        ),
        ("approve", _) => format!(
            "Thanks for reaching out! Your {topic} request is done; you will get a confirmation shortly.{m}"
        ),
        ("review", _) => format!(
            "I have passed your {topic} question to a specialist who will reply within a day.{m}"
        ),
        _ => format!(
            "I could not complete the {topic} request automatically; please contact support by phone.{m}"
        ),
    };
    let label = match decision {
        "approve" => "answer",
        "review" => "escalate",
        _ => "decline",
    };
    (label, prompt, response)
}

/// Multilingual sentences a support chat picks up: accented Latin, CJK, Cyrillic, emoji.
const NON_ASCII_PROMPTS: [&str; 6] = [
    " Merci d'avance, c'est très urgent pour moi — je réessaierai demain matin à l'hôtel.",
    " 请尽快处理，我已经等了三天了。谢谢！🙏 Danke schön für Ihre Geduld, Grüße aus München.",
    " ¿Podría revisarlo hoy? Mañana viajo a Córdoba y no tendré conexión. 😊",
    " Спасибо за помощь! Я жду ответа уже неделю, это очень важно для меня.",
    " お手数ですが、至急ご確認ください。よろしくお願いします。✨ Ça ne marche toujours pas.",
    " Grazie mille, è la terza volta che scrivo — perché non funziona? 😤 Çok teşekkürler.",
];
const NON_ASCII_RESPONSES: [&str; 5] = [
    " Désolé pour l'attente ; nous avons bien reçu votre demande. 👍",
    " 感谢您的耐心等待，我们会在二十四小时内回复您。Vielen Dank, schönen Tag noch!",
    " Lamentamos la demora; su caso está en revisión y le escribiremos pronto. ✅",
    " Благодарим за обращение, мы ответим вам в ближайшее время.",
    " ご連絡ありがとうございます。担当者より折り返しご連絡いたします。🙇",
];
/// A user's own contact details in a prompt, with non-ASCII text on both sides of each.
const PROMPT_PII: [&str; 4] = [
    " Écrivez-moi à josé.garcía@example.com, s'il vous plaît.",
    " 私の電話番号は(415) 555-0199です。",
    " Meine Karte: 4111 1111 1111 1111 — bitte prüfen.",
    " 社会保障番号123-45-6789を確認してください。",
];

/// Appends multilingual text to both sides of a conversation (and now and then the user's own
/// PII to the prompt). Uses the generator's stream only when asked, so plain LLM logs keep
/// their bytes.
fn add_non_ascii(r: &mut Rng, prompt: &mut String, response: &mut String) {
    let pick = |r: &mut Rng, n: usize| (r.next_u64() % n as u64) as usize;
    prompt.push_str(NON_ASCII_PROMPTS[pick(r, NON_ASCII_PROMPTS.len())]);
    if r.unit() < 0.03 {
        prompt.push_str(PROMPT_PII[pick(r, PROMPT_PII.len())]);
    }
    response.push_str(NON_ASCII_RESPONSES[pick(r, NON_ASCII_RESPONSES.len())]);
}

impl Iterator for Generator {
    type Item = Row;
    fn next(&mut self) -> Option<Row> {
        (self.i < self.spec.rows).then(|| self.row())
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn ts_str(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Malformed variants for `--invalid-rate`, cycling through the reasons.
fn broken_jsonl(row: &Row, k: u64) -> String {
    match k % 4 {
        0 => format!(
            "{{\"prediction\":\"{}\",\"confidence\":{}",
            row.prediction, row.confidence
        ),
        1 => format!(
            "{{\"prediction\":\"{}\",\"confidence\":1.5,\"outcome\":true}}",
            row.prediction
        ),
        2 => format!("{{\"confidence\":{},\"outcome\":true}}", row.confidence),
        _ => format!(
            "{{\"prediction\":\"{}\",\"confidence\":\"high\",\"outcome\":true}}",
            row.prediction
        ),
    }
}

/// Writes the rows as JSON Lines or CSV.
pub fn write_text(g: Generator, format: OutFormat, out: &mut dyn Write) -> anyhow::Result<u64> {
    let llm = g.spec().style == Style::Llm;
    let invalid_rate = g.spec().invalid_rate;
    let mut bad_rng = Rng::new(g.spec().seed ^ 0xBAD);
    let mut n = 0;
    match format {
        OutFormat::Jsonl => {
            for row in g {
                n += 1;
                if invalid_rate > 0.0 && bad_rng.unit() < invalid_rate {
                    writeln!(out, "{}", broken_jsonl(&row, n))?;
                    continue;
                }
                write!(
                    out,
                    "{{\"ts\":\"{}\",\"request_id\":\"{}\",\"prediction\":\"{}\",\"confidence\":{},\"outcome\":{},\"actual\":{},\"gender\":\"{}\",\"age_band\":\"{}\",\"region\":\"{}\"",
                    ts_str(&row.ts),
                    row.request_id,
                    row.prediction,
                    row.confidence,
                    row.outcome,
                    row.actual,
                    row.gender,
                    row.age_band,
                    row.region
                )?;
                if let (Some(p), Some(r)) = (&row.prompt, &row.response) {
                    write!(
                        out,
                        ",\"prompt\":{},\"response\":{}",
                        json_str(p),
                        json_str(r)
                    )?;
                }
                for (i, x) in row.numeric.iter().enumerate() {
                    write!(out, ",\"num_{i}\":{x}")?;
                }
                for (i, c) in row.categorical.iter().enumerate() {
                    write!(out, ",\"cat_{i}\":\"{c}\"")?;
                }
                writeln!(out, "}}")?;
            }
        }
        OutFormat::Csv => {
            let mut w = csv::WriterBuilder::new().from_writer(out);
            let mut header = vec![
                "ts",
                "request_id",
                "prediction",
                "confidence",
                "outcome",
                "actual",
                "gender",
                "age_band",
                "region",
            ];
            if llm {
                header.extend(["prompt", "response"]);
            }
            let mut header: Vec<String> = header.into_iter().map(str::to_owned).collect();
            let nf = g.spec().features;
            header.extend((0..nf).map(|i| format!("num_{i}")));
            header.extend((0..nf).map(|i| format!("cat_{i}")));
            w.write_record(&header)?;
            for row in g {
                n += 1;
                let conf = if invalid_rate > 0.0 && bad_rng.unit() < invalid_rate {
                    ["NaN", "1.5", "", "high"][(n % 4) as usize].to_owned()
                } else {
                    row.confidence.to_string()
                };
                let mut rec = vec![
                    ts_str(&row.ts),
                    row.request_id.clone(),
                    row.prediction.to_owned(),
                    conf,
                    row.outcome.to_string(),
                    row.actual.to_string(),
                    row.gender.to_owned(),
                    row.age_band.to_owned(),
                    row.region.to_owned(),
                ];
                if llm {
                    rec.push(row.prompt.clone().unwrap_or_default());
                    rec.push(row.response.clone().unwrap_or_default());
                }
                rec.extend(row.numeric.iter().map(f64::to_string));
                rec.extend(row.categorical.iter().map(|c| (*c).to_owned()));
                w.write_record(&rec)?;
            }
            w.flush()?;
        }
        OutFormat::Parquet => bail!("Parquet is written with write_parquet"),
    }
    Ok(n)
}

/// Writes the rows as a Parquet file (row groups of 128k rows, snappy).
pub fn write_parquet(g: Generator, file: std::fs::File) -> anyhow::Result<u64> {
    use parquet::basic::Compression;
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;

    if g.spec().features > 0 {
        bail!("feature columns are written to JSON Lines and CSV only");
    }
    let llm = g.spec().style == Style::Llm;
    let text_cols = if llm {
        "REQUIRED BYTE_ARRAY prompt (UTF8); REQUIRED BYTE_ARRAY response (UTF8);"
    } else {
        ""
    };
    let schema = format!(
        "message evidence {{ REQUIRED INT64 ts (TIMESTAMP(MILLIS,true)); REQUIRED BYTE_ARRAY request_id (UTF8); REQUIRED BYTE_ARRAY prediction (UTF8); REQUIRED DOUBLE confidence; REQUIRED BOOLEAN outcome; REQUIRED BOOLEAN actual; REQUIRED BYTE_ARRAY gender (UTF8); REQUIRED BYTE_ARRAY age_band (UTF8); REQUIRED BYTE_ARRAY region (UTF8); {text_cols} }}"
    );
    let schema = Arc::new(parse_message_type(&schema).context("parquet schema")?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut writer = SerializedFileWriter::new(file, schema, props)?;
    let mut rows = g.peekable();
    let mut n = 0u64;
    while rows.peek().is_some() {
        let batch: Vec<Row> = rows.by_ref().take(128 * 1024).collect();
        n += batch.len() as u64;
        let mut rg = writer.next_row_group()?;
        let mut col = 0;
        while let Some(mut c) = rg.next_column()? {
            let strings = |f: &dyn Fn(&Row) -> String| -> Vec<ByteArray> {
                batch
                    .iter()
                    .map(|r| ByteArray::from(f(r).as_str()))
                    .collect()
            };
            match col {
                0 => {
                    // A typed timestamp, as Spark and pandas write it: its row-group
                    // statistics let a windowed audit skip groups outside the window.
                    let v: Vec<i64> = batch.iter().map(|r| r.ts.timestamp_millis()).collect();
                    c.typed::<Int64Type>().write_batch(&v, None, None)?;
                }
                1 => {
                    c.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.request_id.clone()),
                        None,
                        None,
                    )?;
                }
                2 => {
                    c.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.prediction.to_owned()),
                        None,
                        None,
                    )?;
                }
                3 => {
                    let v: Vec<f64> = batch.iter().map(|r| r.confidence).collect();
                    c.typed::<DoubleType>().write_batch(&v, None, None)?;
                }
                4 | 5 => {
                    let v: Vec<bool> = batch
                        .iter()
                        .map(|r| if col == 4 { r.outcome } else { r.actual })
                        .collect();
                    c.typed::<BoolType>().write_batch(&v, None, None)?;
                }
                6 => {
                    c.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.gender.to_owned()),
                        None,
                        None,
                    )?;
                }
                7 => {
                    c.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.age_band.to_owned()),
                        None,
                        None,
                    )?;
                }
                8 => {
                    c.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.region.to_owned()),
                        None,
                        None,
                    )?;
                }
                9 => {
                    c.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.prompt.clone().unwrap_or_default()),
                        None,
                        None,
                    )?;
                }
                _ => {
                    c.typed::<ByteArrayType>().write_batch(
                        &strings(&|r| r.response.clone().unwrap_or_default()),
                        None,
                        None,
                    )?;
                }
            }
            c.close()?;
            col += 1;
        }
        rg.close()?;
    }
    writer.close()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic() {
        let a: Vec<Row> = Generator::new(GenSpec {
            rows: 50,
            seed: 7,
            ..GenSpec::default()
        })
        .collect();
        let b: Vec<Row> = Generator::new(GenSpec {
            rows: 50,
            seed: 7,
            ..GenSpec::default()
        })
        .collect();
        let c: Vec<Row> = Generator::new(GenSpec {
            rows: 50,
            seed: 8,
            ..GenSpec::default()
        })
        .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn bias_lowers_the_female_approval_rate() {
        let rate = |bias: f64, g: &str| {
            let rows: Vec<Row> = Generator::new(GenSpec {
                rows: 20_000,
                bias,
                ..GenSpec::default()
            })
            .filter(|r| r.gender == g)
            .collect();
            rows.iter().filter(|r| r.outcome).count() as f64 / rows.len() as f64
        };
        assert!((rate(0.0, "female") - rate(0.0, "male")).abs() < 0.03);
        assert!(rate(0.5, "male") - rate(0.5, "female") > 0.15);
    }
}
