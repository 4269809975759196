//! G.722 (ITU-T G.722, 64 kbit/s mode): 16 kHz audio split by a QMF into
//! two 8 kHz sub-bands, each coded with ADPCM (6 bits low, 2 bits high),
//! one byte per pair of input samples: 160 bytes per 20 ms.
//!
//! Our own implementation of the Recommendation's fixed-point algorithm
//! (the block numbers below are the Recommendation's), checked against
//! spandsp's `g722.c` in the same run (`tests/g722_reference.rs`): the
//! encoder bit-exact, the decoder too except past full scale, where
//! spandsp 0.0.6 lets a sample wrap and we limit it. Why not the `audio-codec` crate: it
//! needs a newer Rust than the workspace's and pulls a SIMD crate for a
//! codec that is a few hundred lines of integer arithmetic.

/// Decision levels of the low-band quantizer (Q6 of the Recommendation).
const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
const ILN: [i32; 32] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4, 0,
];
const ILP: [i32; 32] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32, 0,
];
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [i32; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
const IHN: [i32; 3] = [0, 1, 0];
const IHP: [i32; 3] = [0, 3, 2];
const WH: [i32; 3] = [0, -214, 798];
const RH2: [i32; 4] = [2, 1, 2, 1];
/// The QMF's 24 taps, symmetric: half of them.
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];

/// Table lookup that cannot panic: every index here is masked or
/// bounded by construction, so the fallback never serves.
fn at<const N: usize>(table: &[i32; N], i: i32) -> i32 {
    usize::try_from(i)
        .ok()
        .and_then(|i| table.get(i))
        .copied()
        .unwrap_or(0)
}

fn saturate(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// The adaptive predictor of one sub-band.
#[derive(Debug, Clone, Default)]
struct Band {
    s: i32,
    sp: i32,
    sz: i32,
    r: [i32; 3],
    a: [i32; 3],
    ap: [i32; 3],
    p: [i32; 3],
    d: [i32; 7],
    b: [i32; 7],
    bp: [i32; 7],
    sg: [i32; 7],
    nb: i32,
    det: i32,
}

impl Band {
    fn new(det: i32) -> Band {
        Band {
            det,
            ..Band::default()
        }
    }

    /// Block 4: reconstruction, pole and zero predictor adaptation, and
    /// the next prediction.
    fn block4(&mut self, d: i32) {
        self.d[0] = d;
        self.r[0] = saturate(self.s + d);
        self.p[0] = saturate(self.sz + d);

        // UPPOL2
        for (sg, p) in self.sg.iter_mut().zip(self.p.iter()) {
            *sg = p >> 15;
        }
        let [sg0, sg1, sg2, ..] = self.sg;
        let wd1 = saturate(self.a[1] << 2);
        let wd2 = if sg0 == sg1 { -wd1 } else { wd1 }.min(32767);
        let mut wd3 = (wd2 >> 7) + if sg0 == sg2 { 128 } else { -128 };
        wd3 += (self.a[2] * 32512) >> 15;
        self.ap[2] = wd3.clamp(-12288, 12288);

        // UPPOL1
        let sg0 = self.p[0] >> 15;
        let sg1 = self.p[1] >> 15;
        self.sg[0] = sg0;
        self.sg[1] = sg1;
        let wd1 = if sg0 == sg1 { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let limit = saturate(15360 - self.ap[2]);
        self.ap[1] = saturate(wd1 + wd2).clamp(-limit, limit);

        // UPZERO
        let wd1 = if d == 0 { 0 } else { 128 };
        let sg0 = d >> 15;
        self.sg[0] = sg0;
        for i in 1..7 {
            let (Some(di), Some(bi)) = (self.d.get(i).copied(), self.b.get(i).copied()) else {
                continue;
            };
            let sgi = di >> 15;
            if let Some(s) = self.sg.get_mut(i) {
                *s = sgi;
            }
            let wd2 = if sgi == sg0 { wd1 } else { -wd1 };
            let wd3 = (bi * 32640) >> 15;
            if let Some(bp) = self.bp.get_mut(i) {
                *bp = saturate(wd2 + wd3);
            }
        }

        // DELAYA
        self.d.copy_within(0..6, 1);
        self.b = self.bp;
        self.r.copy_within(0..2, 1);
        self.p.copy_within(0..2, 1);
        self.a = self.ap;

        // FILTEP
        let wd1 = (self.a[1] * saturate(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * saturate(self.r[2] + self.r[2])) >> 15;
        self.sp = saturate(wd1 + wd2);

        // FILTEZ
        let sz: i32 = self
            .d
            .iter()
            .zip(self.b.iter())
            .skip(1)
            .map(|(d, b)| (b * saturate(d + d)) >> 15)
            .sum();
        self.sz = saturate(sz);

        // PREDIC
        self.s = saturate(self.sp + self.sz);
    }

    /// Blocks 3L/3H: the log scale factor `nb` and the linear `det`.
    fn scale(&mut self, weight: i32, max_nb: i32, shift: i32) {
        self.nb = (((self.nb * 127) >> 7) + weight).clamp(0, max_nb);
        let wd1 = (self.nb >> 6) & 31;
        let wd2 = shift - (self.nb >> 11);
        let wd3 = if wd2 < 0 {
            at(&ILB, wd1) << -wd2
        } else {
            at(&ILB, wd1) >> wd2
        };
        self.det = wd3 << 2;
    }
}

/// The 24-sample delay line of a QMF.
#[derive(Debug, Clone, Default)]
struct Qmf {
    x: [i32; 24],
}

impl Qmf {
    /// Shifts two samples in and returns the (odd, even) filter sums.
    fn push(&mut self, first: i32, second: i32) -> (i32, i32) {
        self.x.copy_within(2..24, 0);
        self.x[22] = first;
        self.x[23] = second;
        let mut odd = 0i32;
        let mut even = 0i32;
        for (pair, (c, c_rev)) in self.x.chunks_exact(2).zip(QMF.iter().zip(QMF.iter().rev())) {
            if let [a, b] = pair {
                odd = odd.wrapping_add(a.wrapping_mul(*c));
                even = even.wrapping_add(b.wrapping_mul(*c_rev));
            }
        }
        (odd, even)
    }
}

/// A G.722 encoder (64 kbit/s).
#[derive(Debug, Clone)]
pub struct G722Encoder {
    qmf: Qmf,
    low: Band,
    high: Band,
}

impl Default for G722Encoder {
    fn default() -> Self {
        G722Encoder {
            qmf: Qmf::default(),
            low: Band::new(32),
            high: Band::new(8),
        }
    }
}

impl G722Encoder {
    /// Codes 16 kHz samples, one byte per two samples (an odd last
    /// sample is paired with silence).
    pub fn encode(&mut self, samples: &[i16], out: &mut Vec<u8>) {
        out.reserve(samples.len().div_ceil(2));
        for pair in samples.chunks(2) {
            let first = pair.first().map_or(0, |s| i32::from(*s));
            let second = pair.get(1).map_or(0, |s| i32::from(*s));
            out.push(self.encode_pair(first, second));
        }
    }

    fn encode_pair(&mut self, first: i32, second: i32) -> u8 {
        let (odd, even) = self.qmf.push(first, second);
        let xlow = (even + odd) >> 14;
        let xhigh = (even - odd) >> 14;

        // 1L SUBTRA, QUANTL
        let el = saturate(xlow - self.low.s);
        let wd = if el >= 0 { el } else { -(el + 1) };
        let mut i = 1;
        while i < 30 && wd >= (at(&Q6, i) * self.low.det) >> 12 {
            i += 1;
        }
        let ilow = if el < 0 { at(&ILN, i) } else { at(&ILP, i) };
        // 2L INVQAL, 3L LOGSCL/SCALEL, 4L
        let ril = ilow >> 2;
        let dlow = (self.low.det * at(&QM4, ril)) >> 15;
        self.low.scale(at(&WL, at(&RL42, ril)), 18432, 8);
        self.low.block4(dlow);

        // 1H SUBTRA, QUANTH
        let eh = saturate(xhigh - self.high.s);
        let wd = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if wd >= (564 * self.high.det) >> 12 {
            2
        } else {
            1
        };
        let ihigh = if eh < 0 { at(&IHN, mih) } else { at(&IHP, mih) };
        // 2H INVQAH, 3H LOGSCH/SCALEH, 4H
        let dhigh = (self.high.det * at(&QM2, ihigh)) >> 15;
        self.high.scale(at(&WH, at(&RH2, ihigh)), 22528, 10);
        self.high.block4(dhigh);

        ((ihigh << 6) | ilow) as u8
    }
}

/// A G.722 decoder (64 kbit/s).
#[derive(Debug, Clone)]
pub struct G722Decoder {
    qmf: Qmf,
    low: Band,
    high: Band,
}

impl Default for G722Decoder {
    fn default() -> Self {
        G722Decoder {
            qmf: Qmf::default(),
            low: Band::new(32),
            high: Band::new(8),
        }
    }
}

impl G722Decoder {
    /// Two 16 kHz samples per byte. Every byte is a valid code, so any
    /// payload decodes.
    pub fn decode(&mut self, codes: &[u8], out: &mut Vec<i16>) {
        out.reserve(codes.len() * 2);
        for code in codes {
            let (a, b) = self.decode_code(i32::from(*code));
            out.push(a);
            out.push(b);
        }
    }

    fn decode_code(&mut self, code: i32) -> (i16, i16) {
        let ilow = code & 0x3f;
        let ihigh = (code >> 6) & 0x03;

        // 5L INVQBL, RECONS, LIMIT
        let wd2 = (self.low.det * at(&QM6, ilow)) >> 15;
        let rlow = (self.low.s + wd2).clamp(-16384, 16383);
        // 2L INVQAL, 3L, 4L
        let ilow4 = ilow >> 2;
        let dlow = (self.low.det * at(&QM4, ilow4)) >> 15;
        self.low.scale(at(&WL, at(&RL42, ilow4)), 18432, 8);
        self.low.block4(dlow);

        // 2H INVQAH, 5H RECONS, 6H LIMIT, 3H, 4H
        let dhigh = (self.high.det * at(&QM2, ihigh)) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        self.high.scale(at(&WH, at(&RH2, ihigh)), 22528, 10);
        self.high.block4(dhigh);

        // Receive QMF.
        let (odd, even) = self.qmf.push(rlow + rhigh, rlow - rhigh);
        (saturate(even >> 11) as i16, saturate(odd >> 11) as i16)
    }
}
