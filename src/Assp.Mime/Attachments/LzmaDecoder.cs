namespace Assp.Mime.Attachments;

/// <summary>
/// A plain LZMA (LZMA1) decoder, used to unpack 7z headers so their file names can be listed. The output size must be
/// known (7z records it) and is the only limit: the whole output is the dictionary. Corrupt or truncated input makes
/// <see cref="TryDecode"/> return false; it never throws and never reads or writes out of bounds.
/// </summary>
internal static class LzmaDecoder
{
    private const int NumStates = 12;
    private const int PosBitsMax = 4;
    private const int ProbInit = 1024;          // half of the 11-bit probability range
    private const int EndPosModelIndex = 14;    // distance slots below this use the reverse bit trees
    private const int NumFullDistances = 128;
    private const int AlignBits = 4;
    private const int MatchMinLen = 2;

    /// <summary>Decodes <paramref name="input"/> with the 5-byte coder properties (lc/lp/pb byte and dictionary size)
    /// into exactly <paramref name="outSize"/> bytes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> props, ReadOnlySpan<byte> input, int outSize, out byte[] output)
    {
        output = [];
        if (props.Length < 5 || outSize < 0 || props[0] >= 9 * 5 * 5) return false;
        int d = props[0];
        int lc = d % 9, lp = d / 9 % 5, pb = d / 45;
        var state = new Decoder(input, lc, lp, pb, outSize);
        if (!state.Run()) return false;
        output = state.Output;
        return true;
    }

    private ref struct Decoder
    {
        private readonly ReadOnlySpan<byte> _in;
        private int _inPos;
        private uint _range, _code;
        private bool _overrun;

        private readonly int _lc, _lp, _pb;
        private readonly ushort[] _probs;
        public readonly byte[] Output;
        private int _outPos;

        // Offsets of each model in the one probability array.
        private const int IsMatch = 0;
        private const int IsRep = IsMatch + (NumStates << PosBitsMax);
        private const int IsRepG0 = IsRep + NumStates;
        private const int IsRepG1 = IsRepG0 + NumStates;
        private const int IsRepG2 = IsRepG1 + NumStates;
        private const int IsRep0Long = IsRepG2 + NumStates;
        private const int PosSlot = IsRep0Long + (NumStates << PosBitsMax);       // 4 trees of 6 bits
        private const int PosSpecial = PosSlot + (4 << 6);                        // reverse trees for slots 4..13
        private const int Align = PosSpecial + NumFullDistances - EndPosModelIndex + 1;
        private const int LenCoder = Align + (1 << AlignBits);
        private const int RepLenCoder = LenCoder + LenSize;
        private const int Literal = RepLenCoder + LenSize;
        // A length coder: choice, choice2, low[16][8], mid[16][8], high[256].
        private const int LenSize = 2 + (16 << 3) + (16 << 3) + 256;

        public Decoder(ReadOnlySpan<byte> input, int lc, int lp, int pb, int outSize)
        {
            _in = input;
            _lc = lc;
            _lp = lp;
            _pb = pb;
            _probs = new ushort[Literal + (0x300 << (lc + lp))];
            Array.Fill(_probs, (ushort)ProbInit);
            Output = new byte[outSize];
            _range = 0xFFFFFFFF;
        }

        private byte NextByte()
        {
            // Past the end: count on, so truncated input is told apart from input that ends exactly.
            if (_inPos < _in.Length) return _in[_inPos++];
            _inPos++;
            _overrun = true;
            return 0;
        }

        private void Normalize()
        {
            if (_range < 1u << 24)
            {
                _range <<= 8;
                _code = (_code << 8) | NextByte();
            }
        }

        private int Bit(int index)
        {
            uint p = _probs[index];
            uint bound = (_range >> 11) * p;
            int bit;
            if (_code < bound)
            {
                _range = bound;
                _probs[index] = (ushort)(p + ((2048 - p) >> 5));
                bit = 0;
            }
            else
            {
                _range -= bound;
                _code -= bound;
                _probs[index] = (ushort)(p - (p >> 5));
                bit = 1;
            }
            Normalize();
            return bit;
        }

        private uint DirectBits(int count)
        {
            uint result = 0;
            for (int i = 0; i < count; i++)
            {
                _range >>= 1;
                uint bit = _code >= _range ? 1u : 0u;
                if (bit == 1) _code -= _range;
                Normalize();
                result = (result << 1) | bit;
            }
            return result;
        }

        private int Tree(int probsAt, int bits)
        {
            int m = 1;
            for (int i = 0; i < bits; i++) m = (m << 1) | Bit(probsAt + m);
            return m - (1 << bits);
        }

        private int ReverseTree(int probsAt, int bits)
        {
            int m = 1, symbol = 0;
            for (int i = 0; i < bits; i++)
            {
                int bit = Bit(probsAt + m);
                m = (m << 1) | bit;
                symbol |= bit << i;
            }
            return symbol;
        }

        private int Length(int coder, int posState)
        {
            if (Bit(coder) == 0) return Tree(coder + 2 + (posState << 3), 3);
            if (Bit(coder + 1) == 0) return 8 + Tree(coder + 2 + (16 << 3) + (posState << 3), 3);
            return 16 + Tree(coder + 2 + (16 << 3) + (16 << 3), 8);
        }

        /// <summary>The distance (minus one) of a new match; 0xFFFFFFFF is the end marker.</summary>
        private uint Distance(int len)
        {
            int lenState = Math.Min(len, 3);
            int slot = Tree(PosSlot + (lenState << 6), 6);
            if (slot < 4) return (uint)slot;
            int direct = (slot >> 1) - 1;
            uint dist = (uint)(2 | (slot & 1)) << direct;
            if (slot < EndPosModelIndex) return dist + (uint)ReverseTree(PosSpecial + (int)dist - slot, direct);
            dist += DirectBits(direct - AlignBits) << AlignBits;
            return dist + (uint)ReverseTree(Align, AlignBits);
        }

        public bool Run()
        {
            // The first byte is always 0; the next four prime the code.
            if (_in.Length < 5 || _in[0] != 0) return false;
            _inPos = 1;
            for (int i = 0; i < 4; i++) _code = (_code << 8) | _in[_inPos++];
            if (_code == _range) return false;

            int state = 0;
            uint rep0 = 0, rep1 = 0, rep2 = 0, rep3 = 0;
            int pbMask = (1 << _pb) - 1, lpMask = (1 << _lp) - 1;
            var outBuf = Output;
            while (_outPos < outBuf.Length)
            {
                if (_overrun && _inPos - _in.Length > 4) return false; // well past the input: truncated
                int posState = _outPos & pbMask;
                if (Bit(IsMatch + (state << PosBitsMax) + posState) == 0)
                {
                    int prev = _outPos > 0 ? outBuf[_outPos - 1] : 0;
                    int litState = ((_outPos & lpMask) << _lc) + (prev >> (8 - _lc));
                    int baseAt = Literal + 0x300 * litState;
                    int symbol = 1;
                    if (state >= 7)
                    {
                        // After a match the literal is coded relative to the byte at the last distance.
                        if (rep0 >= (uint)_outPos) return false;
                        int matchByte = outBuf[_outPos - (int)rep0 - 1];
                        while (symbol < 0x100)
                        {
                            int matchBit = (matchByte >> 7) & 1;
                            matchByte <<= 1;
                            int bit = Bit(baseAt + ((1 + matchBit) << 8) + symbol);
                            symbol = (symbol << 1) | bit;
                            if (matchBit != bit) break;
                        }
                    }
                    while (symbol < 0x100) symbol = (symbol << 1) | Bit(baseAt + symbol);
                    outBuf[_outPos++] = (byte)symbol;
                    state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
                    continue;
                }
                int len;
                if (Bit(IsRep + state) != 0)
                {
                    if (_outPos == 0) return false;
                    if (Bit(IsRepG0 + state) == 0)
                    {
                        if (Bit(IsRep0Long + (state << PosBitsMax) + posState) == 0)
                        {
                            // Short rep: one byte from the last distance.
                            state = state < 7 ? 9 : 11;
                            if (rep0 >= (uint)_outPos) return false;
                            outBuf[_outPos] = outBuf[_outPos - (int)rep0 - 1];
                            _outPos++;
                            continue;
                        }
                    }
                    else
                    {
                        uint dist;
                        if (Bit(IsRepG1 + state) == 0) dist = rep1;
                        else
                        {
                            if (Bit(IsRepG2 + state) == 0) dist = rep2;
                            else { dist = rep3; rep3 = rep2; }
                            rep2 = rep1;
                        }
                        rep1 = rep0;
                        rep0 = dist;
                    }
                    len = Length(RepLenCoder, posState);
                    state = state < 7 ? 8 : 11;
                }
                else
                {
                    rep3 = rep2;
                    rep2 = rep1;
                    rep1 = rep0;
                    len = Length(LenCoder, posState);
                    state = state < 7 ? 7 : 10;
                    rep0 = Distance(len);
                    if (rep0 == 0xFFFFFFFF) return false; // an end marker before the declared size
                }
                len += MatchMinLen;
                if (rep0 >= (uint)_outPos) return false;
                int from = _outPos - (int)rep0 - 1;
                int n = Math.Min(len, outBuf.Length - _outPos);
                // Byte by byte: the source may overlap what is being written.
                for (int k = 0; k < n; k++) outBuf[_outPos++] = outBuf[from + k];
            }
            return !_overrun;
        }
    }
}
