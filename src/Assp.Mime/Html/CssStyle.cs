using System.Globalization;

namespace Assp.Mime.Html;

/// <summary>An RGB colour; <see cref="Transparent"/> marks "transparent" and zero-alpha colours.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B, bool Transparent = false)
{
    public static readonly Rgb White = new(255, 255, 255);
    public static readonly Rgb Black = new(0, 0, 0);

    public int Distance(Rgb other) =>
        Math.Max(Math.Abs(R - other.R), Math.Max(Math.Abs(G - other.G), Math.Abs(B - other.B)));
}

/// <summary>What an inline style (or presentational attributes) says about visibility and colours.</summary>
internal struct StyleFacts
{
    public string? HiddenBy;   // name of the trick when the element's content cannot be seen
    public bool HiddenByRule;  // that trick came from a <style> rule, not the element's own style
    public Rgb? Color;
    public Rgb? Background;
    public bool ColorsByRule;  // the colour or background came from a <style> rule
}

/// <summary>One CSS declaration: property and value in lower case, "!important" split off.</summary>
internal readonly record struct CssDeclaration(string Property, string Value, bool Important);

/// <summary>Just enough CSS for inline <c>style</c> attributes and simple rules: declarations, lengths and colours.</summary>
internal static class CssStyle
{
    /// <summary>Splits "a: b; c: d !important" into declarations, in order.</summary>
    public static List<CssDeclaration> ParseDeclarations(string style)
    {
        var list = new List<CssDeclaration>();
        if (style.Contains("/*", StringComparison.Ordinal)) style = StripComments(style);
        foreach (var declRange in style.AsSpan().Split(';'))
        {
            var decl = style.AsSpan(declRange.Start.Value, declRange.End.Value - declRange.Start.Value);
            int colon = decl.IndexOf(':');
            if (colon <= 0) continue;
            string prop = decl[..colon].Trim().ToString().ToLowerInvariant();
            var valueSpan = decl[(colon + 1)..].Trim();
            int imp = valueSpan.IndexOf('!');
            bool important = imp >= 0 && valueSpan[(imp + 1)..].Trim().Equals("important", StringComparison.OrdinalIgnoreCase);
            if (imp >= 0) valueSpan = valueSpan[..imp].TrimEnd();
            list.Add(new CssDeclaration(prop, valueSpan.ToString().ToLowerInvariant(), important));
        }
        return list;
    }

    /// <summary>
    /// Works out the facts from declarations given from lowest to highest precedence (the cascade already sorted):
    /// for each property the last one counts, as in CSS, so a rule's "display:none" is undone by an inline
    /// "display:block". The flag says a declaration came from a style sheet rule.
    /// </summary>
    public static void Evaluate(List<(CssDeclaration Decl, bool FromRule)> ordered, ref StyleFacts facts)
    {
        // Final value per property, kept in order of first appearance so trick names are stable.
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var finals = new List<(string Prop, string Value, bool FromRule, int Rank)>();
        for (int k = 0; k < ordered.Count; k++)
        {
            var (d, fromRule) = ordered[k];
            if (index.TryGetValue(d.Property, out int at)) finals[at] = (d.Property, d.Value, fromRule, k);
            else { index[d.Property] = finals.Count; finals.Add((d.Property, d.Value, fromRule, k)); }
        }
        bool zeroBox = false, overflowHidden = false, boxByRule = false;
        int bgRank = -1;
        foreach (var (prop, value, fromRule, rank) in finals)
        {
            string? trick = null;
            switch (prop)
            {
                case "display":
                    if (value == "none") trick = "display:none";
                    break;
                case "visibility":
                    if (value is "hidden" or "collapse") trick = "visibility:hidden";
                    break;
                case "mso-hide":
                    if (value == "all") trick = "mso-hide:all";
                    break;
                case "font-size":
                    if (IsTinyFont(value)) trick = "font-size";
                    break;
                case "opacity":
                    if (TryNumber(value, out double op, out string unit) && (unit == "%" ? op <= 5 : op <= 0.05))
                        trick = "opacity";
                    break;
                case "color":
                    if (TryParseColor(value, out var fg)) { facts.Color = fg; facts.ColorsByRule |= fromRule; }
                    break;
                case "background-color":
                case "background":
                    // Whichever of the two comes last in the cascade sets the colour.
                    if (rank > bgRank && FindColorToken(value, out var bg))
                    {
                        facts.Background = bg;
                        facts.ColorsByRule |= fromRule;
                        bgRank = rank;
                    }
                    break;
                case "height":
                case "max-height":
                case "width":
                case "max-width":
                    if (TryLength(value, out double len) && len <= 0) { zeroBox = true; boxByRule |= fromRule; }
                    break;
                case "overflow":
                case "overflow-x":
                case "overflow-y":
                    if (value is "hidden" or "clip") { overflowHidden = true; boxByRule |= fromRule; }
                    break;
                case "text-indent":
                case "left":
                case "top":
                case "margin-left":
                case "margin-top":
                    if (TryLength(value, out double off) && off <= -500) trick = "offscreen";
                    break;
                case "transform":
                    if (value.Replace(" ", "", StringComparison.Ordinal).Contains("scale(0)", StringComparison.Ordinal))
                        trick = "transform:scale(0)";
                    break;
                case "clip":
                    if (value.Replace(" ", "", StringComparison.Ordinal).Replace("px", "", StringComparison.Ordinal) is "rect(0,0,0,0)" or "rect(0000)")
                        trick = "clip";
                    break;
            }
            if (trick is not null && facts.HiddenBy is null)
            {
                facts.HiddenBy = trick;
                facts.HiddenByRule = fromRule;
            }
        }
        if (zeroBox && overflowHidden && facts.HiddenBy is null)
        {
            facts.HiddenBy = "zero-size";
            facts.HiddenByRule = boxByRule;
        }
    }

    internal static string StripComments(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            int open = s.IndexOf("/*", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(s, i, s.Length - i); break; }
            sb.Append(s, i, open - i);
            int close = s.IndexOf("*/", open + 2, StringComparison.Ordinal);
            if (close < 0) break;
            i = close + 2;
        }
        return sb.ToString();
    }

    private static bool IsTinyFont(string value)
    {
        if (!TryNumber(value, out double n, out string unit)) return false;
        if (n <= 0) return true;
        return unit switch
        {
            "px" or "pt" or "" => n <= 1,
            "em" or "rem" => n <= 0.1,
            "%" => n <= 10,
            "vw" or "vh" => n <= 0.1,
            _ => false,
        };
    }

    /// <summary>A length in CSS pixels-ish (units ignored except that a bare number counts).</summary>
    private static bool TryLength(string value, out double n) => TryNumber(value, out n, out _);

    private static bool TryNumber(string value, out double n, out string unit)
    {
        int i = 0;
        while (i < value.Length && (char.IsAsciiDigit(value[i]) || value[i] is '.' or '-' or '+')) i++;
        unit = value[i..].Trim();
        return double.TryParse(value.AsSpan(0, i), NumberStyles.Float, CultureInfo.InvariantCulture, out n);
    }

    private static bool FindColorToken(string value, out Rgb color)
    {
        // "background: url(x.gif) #fff no-repeat" – try each token; rgb(...) may contain spaces.
        if (TryParseColor(value, out color)) return true;
        int fn = value.IndexOf("rgb", StringComparison.Ordinal);
        if (fn >= 0)
        {
            int close = value.IndexOf(')', fn);
            if (close > fn && TryParseColor(value[fn..(close + 1)], out color)) return true;
        }
        foreach (var token in value.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.StartsWith("url(", StringComparison.Ordinal)) continue;
            if (TryParseColor(token, out color)) return true;
        }
        color = default;
        return false;
    }

    /// <summary>Parses a CSS or legacy attribute colour: #rgb, #rrggbb, #rrggbbaa, rrggbb (attributes),
    /// rgb()/rgba() with numbers or percentages, a common colour name, or "transparent".</summary>
    public static bool TryParseColor(string value, out Rgb color)
    {
        color = default;
        var v = value.Trim().ToLowerInvariant();
        if (v.Length == 0) return false;
        if (v == "transparent") { color = new Rgb(0, 0, 0, true); return true; }
        if (v[0] == '#') return TryHex(v.AsSpan(1), out color);
        if (v.StartsWith("rgb", StringComparison.Ordinal)) return TryRgbFunction(v, out color);
        if (NamedColors.TryGetValue(v, out int rgb))
        {
            color = new Rgb((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
            return true;
        }
        return (v.Length is 3 or 6) && TryHex(v, out color);
    }

    private static bool TryHex(ReadOnlySpan<char> h, out Rgb color)
    {
        color = default;
        foreach (char c in h) if (!char.IsAsciiHexDigit(c)) return false;
        static byte H(char c) => (byte)(char.IsAsciiDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
        switch (h.Length)
        {
            case 3: color = new Rgb((byte)(H(h[0]) * 17), (byte)(H(h[1]) * 17), (byte)(H(h[2]) * 17)); return true;
            case 4: color = new Rgb((byte)(H(h[0]) * 17), (byte)(H(h[1]) * 17), (byte)(H(h[2]) * 17), H(h[3]) == 0); return true;
            case 6: color = new Rgb((byte)(H(h[0]) * 16 + H(h[1])), (byte)(H(h[2]) * 16 + H(h[3])), (byte)(H(h[4]) * 16 + H(h[5]))); return true;
            case 8:
                color = new Rgb((byte)(H(h[0]) * 16 + H(h[1])), (byte)(H(h[2]) * 16 + H(h[3])), (byte)(H(h[4]) * 16 + H(h[5])),
                    H(h[6]) == 0 && H(h[7]) == 0);
                return true;
            default: return false;
        }
    }

    private static bool TryRgbFunction(string v, out Rgb color)
    {
        color = default;
        int open = v.IndexOf('('), close = v.LastIndexOf(')');
        if (open < 0 || close < open) return false;
        var parts = v[(open + 1)..close].Split([',', ' ', '/'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3) return false;
        Span<byte> c = stackalloc byte[3];
        for (int k = 0; k < 3; k++)
        {
            if (!TryNumber(parts[k], out double n, out string unit)) return false;
            if (unit == "%") n = n * 255 / 100;
            c[k] = (byte)Math.Clamp(Math.Round(n), 0, 255);
        }
        bool transparent = false;
        if (parts.Length >= 4 && TryNumber(parts[3], out double a, out string aUnit))
            transparent = aUnit == "%" ? a <= 5 : a <= 0.05;
        color = new Rgb(c[0], c[1], c[2], transparent);
        return true;
    }

    private static readonly Dictionary<string, int> NamedColors = new(StringComparer.Ordinal)
    {
        ["black"] = 0x000000, ["white"] = 0xFFFFFF, ["red"] = 0xFF0000, ["green"] = 0x008000, ["blue"] = 0x0000FF,
        ["yellow"] = 0xFFFF00, ["gray"] = 0x808080, ["grey"] = 0x808080, ["silver"] = 0xC0C0C0, ["maroon"] = 0x800000,
        ["purple"] = 0x800080, ["fuchsia"] = 0xFF00FF, ["magenta"] = 0xFF00FF, ["lime"] = 0x00FF00, ["olive"] = 0x808000,
        ["navy"] = 0x000080, ["teal"] = 0x008080, ["aqua"] = 0x00FFFF, ["cyan"] = 0x00FFFF, ["orange"] = 0xFFA500,
        ["whitesmoke"] = 0xF5F5F5, ["snow"] = 0xFFFAFA, ["ivory"] = 0xFFFFF0, ["ghostwhite"] = 0xF8F8FF,
        ["floralwhite"] = 0xFFFAF0, ["linen"] = 0xFAF0E6, ["seashell"] = 0xFFF5EE, ["azure"] = 0xF0FFFF,
        ["mintcream"] = 0xF5FFFA, ["honeydew"] = 0xF0FFF0, ["aliceblue"] = 0xF0F8FF, ["lightgray"] = 0xD3D3D3,
        ["lightgrey"] = 0xD3D3D3, ["gainsboro"] = 0xDCDCDC, ["darkgray"] = 0xA9A9A9, ["darkgrey"] = 0xA9A9A9,
        ["dimgray"] = 0x696969, ["dimgrey"] = 0x696969, ["beige"] = 0xF5F5DC, ["lavender"] = 0xE6E6FA,
        ["lavenderblush"] = 0xFFF0F5, ["oldlace"] = 0xFDF5E6, ["cornsilk"] = 0xFFF8DC, ["lightyellow"] = 0xFFFFE0,
        ["lightcyan"] = 0xE0FFFF, ["mistyrose"] = 0xFFE4E1, ["antiquewhite"] = 0xFAEBD7, ["papayawhip"] = 0xFFEFD5,
        ["blanchedalmond"] = 0xFFEBCD, ["bisque"] = 0xFFE4C4, ["wheat"] = 0xF5DEB3, ["darkblue"] = 0x00008B,
        ["darkred"] = 0x8B0000, ["darkgreen"] = 0x006400, ["brown"] = 0xA52A2A, ["pink"] = 0xFFC0CB,
        ["gold"] = 0xFFD700, ["violet"] = 0xEE82EE, ["indigo"] = 0x4B0082, ["khaki"] = 0xF0E68C,
        ["lightblue"] = 0xADD8E6, ["lightgreen"] = 0x90EE90, ["lightpink"] = 0xFFB6C1, ["darkslategray"] = 0x2F4F4F,
        ["midnightblue"] = 0x191970, ["steelblue"] = 0x4682B4, ["royalblue"] = 0x4169E1, ["tomato"] = 0xFF6347,
    };
}
