using System.Text;

namespace Assp.Mime.Uris;

/// <summary>RFC 3492 Punycode (Bootstring with the IDNA parameters), and the label-by-label IDNA
/// conversions built on it. Written here because <see cref="System.Globalization.IdnMapping"/> is not
/// dependable under InvariantGlobalization.</summary>
public static class Punycode
{
    private const int Base = 36, TMin = 1, TMax = 26, Skew = 38, Damp = 700, InitialBias = 72, InitialN = 128;
    private const char Delimiter = '-';

    /// <summary>Encodes one label (no "xn--" prefix added). Returns null when it cannot be encoded
    /// (unpaired surrogate, overflow).</summary>
    public static string? Encode(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        var cps = new List<int>(label.Length);
        for (int i = 0; i < label.Length; i++)
        {
            char c = label[i];
            if (char.IsHighSurrogate(c) && i + 1 < label.Length && char.IsLowSurrogate(label[i + 1]))
            {
                cps.Add(char.ConvertToUtf32(c, label[i + 1]));
                i++;
            }
            else if (char.IsSurrogate(c)) return null;
            else cps.Add(c);
        }

        var output = new StringBuilder();
        foreach (int cp in cps) if (cp < 0x80) output.Append((char)cp);
        int b = output.Length, h = b;
        if (b > 0) output.Append(Delimiter);

        int n = InitialN, delta = 0, bias = InitialBias;
        while (h < cps.Count)
        {
            int m = int.MaxValue;
            foreach (int cp in cps) if (cp >= n && cp < m) m = cp;
            long d = delta + (long)(m - n) * (h + 1);
            if (d > int.MaxValue) return null;
            delta = (int)d;
            n = m;
            foreach (int cp in cps)
            {
                if (cp < n && ++delta == int.MaxValue) return null;
                if (cp != n) continue;
                int q = delta;
                for (int k = Base; ; k += Base)
                {
                    int t = k <= bias ? TMin : k >= bias + TMax ? TMax : k - bias;
                    if (q < t) break;
                    output.Append(Digit(t + (q - t) % (Base - t)));
                    q = (q - t) / (Base - t);
                }
                output.Append(Digit(q));
                bias = Adapt(delta, h + 1, h == b);
                delta = 0;
                h++;
            }
            delta++;
            n++;
        }
        return output.ToString();
    }

    /// <summary>Decodes one label (without "xn--"). Returns null for invalid input.</summary>
    public static string? Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        var output = new List<int>(encoded.Length);
        int basicEnd = encoded.LastIndexOf(Delimiter);
        if (basicEnd < 0) basicEnd = 0;
        for (int j = 0; j < basicEnd; j++)
        {
            if (encoded[j] >= 0x80) return null;
            output.Add(encoded[j]);
        }

        int n = InitialN, i = 0, bias = InitialBias;
        for (int inPos = basicEnd > 0 ? basicEnd + 1 : 0; inPos < encoded.Length;)
        {
            int oldi = i, w = 1;
            for (int k = Base; ; k += Base)
            {
                if (inPos >= encoded.Length) return null;
                int digit = DigitValue(encoded[inPos++]);
                if (digit < 0) return null;
                if (digit > (int.MaxValue - i) / w) return null;
                i += digit * w;
                int t = k <= bias ? TMin : k >= bias + TMax ? TMax : k - bias;
                if (digit < t) break;
                if (w > int.MaxValue / (Base - t)) return null;
                w *= Base - t;
            }
            int len = output.Count + 1;
            bias = Adapt(i - oldi, len, oldi == 0);
            if (i / len > int.MaxValue - n) return null;
            n += i / len;
            i %= len;
            if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF)) return null;
            output.Insert(i, n);
            i++;
        }

        var sb = new StringBuilder(output.Count);
        foreach (int cp in output)
        {
            if (cp < 0x10000) sb.Append((char)cp);
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    /// <summary>Converts a host name to its ASCII form: labels with non-ASCII characters become
    /// "xn--" labels; everything is lower-cased; the IDNA dot variants (。．｡) count as dots.
    /// Labels that cannot be encoded are kept as they are.</summary>
    public static string ToAscii(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var labels = SplitLabels(host);
        for (int k = 0; k < labels.Length; k++)
        {
            string label = labels[k].ToLowerInvariant();
            if (!IsAscii(label))
            {
                label = Normalize(label);
                var enc = Encode(label);
                if (enc is not null) label = "xn--" + enc;
            }
            labels[k] = label;
        }
        return string.Join('.', labels);
    }

    /// <summary>Converts a host name to its Unicode form: "xn--" labels are decoded (invalid ones are
    /// kept), everything is lower-cased.</summary>
    public static string ToUnicode(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var labels = SplitLabels(host);
        for (int k = 0; k < labels.Length; k++)
        {
            string label = labels[k].ToLowerInvariant();
            if (label.StartsWith("xn--", StringComparison.Ordinal))
            {
                var dec = Decode(label[4..]);
                if (dec is not null && dec.Length > 0) label = dec.ToLowerInvariant();
            }
            labels[k] = label;
        }
        return string.Join('.', labels);
    }

    internal static bool IsAscii(string s)
    {
        foreach (char c in s) if (c >= 0x80) return false;
        return true;
    }

    private static string[] SplitLabels(string host) =>
        host.Replace('\u3002', '.').Replace('\uFF0E', '.').Replace('\uFF61', '.').Split('.');

    private static string Normalize(string label)
    {
        try { return label.Normalize(NormalizationForm.FormKC); }
        catch (PlatformNotSupportedException) { return label; }
        catch (ArgumentException) { return label; }
    }

    private static char Digit(int d) => (char)(d < 26 ? 'a' + d : '0' + d - 26);

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0' + 26,
        >= 'a' and <= 'z' => c - 'a',
        >= 'A' and <= 'Z' => c - 'A',
        _ => -1,
    };

    private static int Adapt(int delta, int numPoints, bool firstTime)
    {
        delta = firstTime ? delta / Damp : delta / 2;
        delta += delta / numPoints;
        int k = 0;
        while (delta > ((Base - TMin) * TMax) / 2)
        {
            delta /= Base - TMin;
            k += Base;
        }
        return k + (Base - TMin + 1) * delta / (delta + Skew);
    }
}
