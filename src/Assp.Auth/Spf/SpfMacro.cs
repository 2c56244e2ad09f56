using System.Globalization;
using System.Text;

namespace Assp.Auth.Spf;

/// <summary>The macro language of RFC 7208 section 7.</summary>
internal static class SpfMacro
{
    private const string Delimiters = ".-+,/_=";

    /// <summary>Checks the syntax of a macro-string; <paramref name="endsWithMacro"/> says whether its last token is a macro-expand.</summary>
    public static bool IsValid(string text, bool explanation, out bool endsWithMacro)
    {
        try
        {
            endsWithMacro = Walk(text, explanation, null, null);
            return true;
        }
        catch (SpfAbort)
        {
            endsWithMacro = false;
            return false;
        }
    }

    /// <summary>Expands <paramref name="text"/>; a syntax error throws permerror. <paramref name="value"/> gives a macro letter's raw value.</summary>
    public static string Expand(string text, bool explanation, Func<char, string> value)
    {
        var sb = new StringBuilder(text.Length + 32);
        Walk(text, explanation, value, sb);
        return sb.ToString();
    }

    /// <summary>One pass serves both checking (no output) and expansion.</summary>
    private static bool Walk(string text, bool explanation, Func<char, string>? value, StringBuilder? output)
    {
        bool lastWasMacro = false;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '%')
            {
                output?.Append(c);
                lastWasMacro = false;
                i++;
                continue;
            }
            if (i + 1 >= text.Length) throw Error("'%' at the end");
            char n = text[i + 1];
            lastWasMacro = true;
            switch (n)
            {
                case '%': output?.Append('%'); i += 2; continue;
                case '_': output?.Append(' '); i += 2; continue;
                case '-': output?.Append("%20"); i += 2; continue;
                case '{': break;
                default: throw Error($"'%{n}' is not a macro");
            }
            int close = text.IndexOf('}', i + 2);
            if (close < 0) throw Error("unclosed macro");
            string body = text[(i + 2)..close];
            i = close + 1;
            if (body.Length == 0) throw Error("empty macro");
            char letter = body[0];
            char lower = char.ToLowerInvariant(letter);
            if ("slodiphv".IndexOf(lower) < 0 && !(explanation && "crt".IndexOf(lower) >= 0))
                throw Error($"unknown macro letter '{letter}'");
            int p = 1;
            int digitsStart = p;
            while (p < body.Length && char.IsAsciiDigit(body[p])) p++;
            int keep = int.MaxValue;
            if (p > digitsStart)
            {
                // Values past any real label count mean "all of them".
                keep = int.TryParse(body.AsSpan(digitsStart, p - digitsStart), NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : int.MaxValue;
                if (keep == 0) throw Error("a macro may not keep zero parts");
            }
            bool reverse = false;
            if (p < body.Length && (body[p] == 'r' || body[p] == 'R'))
            {
                reverse = true;
                p++;
            }
            string delims = body[p..];
            foreach (char d in delims)
                if (Delimiters.IndexOf(d) < 0) throw Error($"bad delimiter '{d}'");
            if (output is null || value is null) continue;

            string raw = value(lower);
            string result;
            if (keep == int.MaxValue && !reverse && delims.Length == 0)
            {
                result = raw;
            }
            else
            {
                var parts = raw.Split(delims.Length == 0 ? ['.'] : delims.ToCharArray());
                if (reverse) Array.Reverse(parts);
                if (keep < parts.Length) parts = parts[^keep..];
                result = string.Join('.', parts);
            }
            // An upper-case letter asks for URL escaping; EscapeDataString keeps exactly RFC 3986's unreserved set.
            output.Append(char.IsAsciiLetterUpper(letter) ? Uri.EscapeDataString(result) : result);
        }
        return lastWasMacro;
    }

    private static SpfAbort Error(string message) => new(SpfResult.PermError, "macro syntax: " + message);
}
