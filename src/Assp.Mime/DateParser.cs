namespace Assp.Mime;

/// <summary>
/// RFC 5322 date-time parser that also takes the broken forms seen in mail: missing weekday or seconds, two- and
/// three-digit years, asctime ("Mon Aug 19 12:00:00 2002"), ISO "2002-08-22 10:00:00", named and obsolete zones
/// (UT, GMT, EST..., military letters, CET, JST...), "GMT+0200", "+07:00", comments, full month names, dots.
/// </summary>
public static class DateParser
{
    private static readonly Dictionary<string, int> Months = new(StringComparer.OrdinalIgnoreCase)
    {
        ["jan"] = 1, ["feb"] = 2, ["mar"] = 3, ["apr"] = 4, ["may"] = 5, ["jun"] = 6,
        ["jul"] = 7, ["aug"] = 8, ["sep"] = 9, ["oct"] = 10, ["nov"] = 11, ["dec"] = 12,
        ["mrz"] = 3, ["mai"] = 5, ["okt"] = 10, ["dez"] = 12, ["sept"] = 9,
    };

    private static readonly Dictionary<string, int> Zones = new(StringComparer.OrdinalIgnoreCase)
    {
        ["UT"] = 0, ["UTC"] = 0, ["GMT"] = 0, ["Z"] = 0, ["WET"] = 0, ["BST"] = 60, ["IST"] = 330, ["WEST"] = 60,
        ["EST"] = -300, ["EDT"] = -240, ["CST"] = -360, ["CDT"] = -300, ["MST"] = -420, ["MDT"] = -360,
        ["PST"] = -480, ["PDT"] = -420, ["AKST"] = -540, ["AKDT"] = -480, ["HST"] = -600, ["AST"] = -240, ["ADT"] = -180,
        ["NST"] = -210, ["NDT"] = -150,
        ["CET"] = 60, ["CEST"] = 120, ["MET"] = 60, ["MEST"] = 120, ["MEZ"] = 60, ["MESZ"] = 120, ["EET"] = 120, ["EEST"] = 180,
        ["MSK"] = 180, ["MSD"] = 240, ["JST"] = 540, ["KST"] = 540, ["HKT"] = 480, ["SGT"] = 480, ["CCT"] = 480,
        ["AEST"] = 600, ["AEDT"] = 660, ["ACST"] = 570, ["AWST"] = 480, ["NZST"] = 720, ["NZDT"] = 780, ["ICT"] = 420, ["WIB"] = 420,
    };

    /// <summary>Parses a date; null when no day, month and year can be found or the values are out of range.</summary>
    public static DateTimeOffset? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        // Tokenise: drop comments, split on blanks and commas.
        var tokens = new List<string>();
        int pos = 0;
        var s = value;
        while (pos < s.Length && tokens.Count < 20)
        {
            StructuredText.SkipCfws(s, ref pos);
            if (pos >= s.Length) break;
            if (s[pos] == ',') { pos++; continue; }
            int st = pos;
            while (pos < s.Length && !char.IsWhiteSpace(s[pos]) && s[pos] != ',' && s[pos] != '(') pos++;
            tokens.Add(s[st..pos]);
        }
        int day = -1, month = -1, year = -1, hour = 0, minute = 0, second = 0;
        int? offset = null;
        bool timeSeen = false;
        foreach (var raw in tokens)
        {
            var t = raw.TrimEnd('.');
            if (t.Length == 0) continue;
            // ISO date or ISO date-time: 2002-08-22[T10:00:00[Z|+hh:mm]]
            if (t.Length >= 10 && char.IsAsciiDigit(t[0]) && t[4] == '-' && t[7] == '-')
            {
                if (int.TryParse(t.AsSpan(0, 4), out year) && int.TryParse(t.AsSpan(5, 2), out month) && int.TryParse(t.AsSpan(8, 2), out day))
                {
                    if (t.Length > 11 && (t[10] == 'T' || t[10] == 't'))
                    {
                        var rest = t[11..];
                        int z = rest.IndexOfAny(['Z', 'z', '+', '-']);
                        if (z >= 0) { offset = ParseZone(rest[z..]); rest = rest[..z]; }
                        if (TryTime(rest, out hour, out minute, out second)) timeSeen = true;
                    }
                    continue;
                }
            }
            if (!timeSeen && t.Contains(':') && char.IsAsciiDigit(t[0]))
            {
                var tt = t;
                // "10:00:00+0200" glued
                int z = tt.IndexOfAny(['+', '-'], 1);
                if (z > 0) { offset ??= ParseZone(tt[z..]); tt = tt[..z]; }
                if (TryTime(tt, out hour, out minute, out second)) { timeSeen = true; continue; }
            }
            if (t[0] is '+' or '-' && t.Length >= 3 && char.IsAsciiDigit(t[1]))
            {
                offset ??= ParseZone(t);
                continue;
            }
            if (char.IsAsciiDigit(t[0]))
            {
                // "22-Aug-2002" or "22/08/2002"
                if (t.Contains('-') || t.Contains('/'))
                {
                    var parts = t.Split('-', '/');
                    if (parts.Length == 3)
                    {
                        if (parts[0].Length == 4 && int.TryParse(parts[0], out var y4) && int.TryParse(parts[1], out var m4) && int.TryParse(parts[2], out var d4))
                        {
                            (year, month, day) = (y4, m4, d4);
                            continue;
                        }
                        if (int.TryParse(parts[0], out var d0)) day = d0;
                        if (Months.TryGetValue(Prefix(parts[1]), out var mm)) month = mm;
                        else if (int.TryParse(parts[1], out var m1)) { month = m1; }
                        if (int.TryParse(parts[2], out var y0)) year = FixYear(y0, parts[2].Length);
                        continue;
                    }
                }
                var digits = t.TrimEnd('s', 't', 'n', 'd', 'r', 'h');
                if (!int.TryParse(digits, out int num)) continue;
                if (day < 0 && digits.Length <= 2 && num >= 1 && num <= 31 && (year < 0 || month >= 0)) day = num;
                else if (year < 0) year = FixYear(num, digits.Length);
                else if (day < 0 && num >= 1 && num <= 31) day = num;
                continue;
            }
            if (t.Length >= 3 && Months.TryGetValue(Prefix(t), out int mo) && month < 0) { month = mo; continue; }
            if (Zones.TryGetValue(t, out int zone)) { offset ??= zone; continue; }
            if ((t.StartsWith("GMT", StringComparison.OrdinalIgnoreCase) || t.StartsWith("UTC", StringComparison.OrdinalIgnoreCase)) && t.Length > 4)
            {
                offset ??= ParseZone(t[3..]);
                continue;
            }
            if (t.Length == 1 && char.IsAsciiLetter(t[0]) && timeSeen) { offset ??= 0; continue; } // military zone: RFC 5322 says treat as -0000
        }
        if (day < 1 || month < 1 || month > 12 || year < 0) return null;
        if (hour > 23 || minute > 59 || second > 60) return null;
        if (second == 60) second = 59;
        if (year < 1 || year > 9999 || day > DateTime.DaysInMonth(year, month)) return null;
        int off = offset ?? 0;
        if (off < -14 * 60 || off > 14 * 60) off = 0;
        return new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.FromMinutes(off));
    }

    private static string Prefix(string t) => t.Length >= 3 ? t[..3] : t;

    private static int FixYear(int y, int digits)
    {
        if (digits <= 2) return y < 50 ? 2000 + y : 1900 + y;
        if (digits == 3) return 1900 + y;
        return y;
    }

    private static bool TryTime(string t, out int h, out int m, out int s)
    {
        h = m = s = 0;
        var parts = t.Split(':');
        if (parts.Length < 2 || parts.Length > 3) return false;
        if (!int.TryParse(parts[0], out h) || !int.TryParse(parts[1], out m)) return false;
        if (parts.Length == 3)
        {
            var sec = parts[2];
            int dot = sec.IndexOf('.');
            if (dot >= 0) sec = sec[..dot];
            if (!int.TryParse(sec, out s)) return false;
        }
        return true;
    }

    private static int? ParseZone(string z)
    {
        if (z.Length == 0) return null;
        if (z[0] is 'Z' or 'z') return 0;
        int sign = z[0] == '-' ? -1 : 1;
        var digits = z[1..].Replace(":", "", StringComparison.Ordinal);
        if (digits.Length is 1 or 2 && int.TryParse(digits, out int hh)) return sign * hh * 60;
        if (digits.Length >= 4 && int.TryParse(digits.AsSpan(0, 4), out int v)) return sign * (v / 100 * 60 + v % 100);
        if (digits.Length == 3 && int.TryParse(digits, out int v3)) return sign * (v3 / 100 * 60 + v3 % 100);
        return null;
    }
}
