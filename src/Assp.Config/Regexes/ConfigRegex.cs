using System.Text.RegularExpressions;

namespace Assp.Config.Regexes;

/// <summary>Compiles regexes written in configuration (Perl syntax) into .NET regexes that always have a match timeout.</summary>
public static class ConfigRegex
{
    /// <summary>The longest one match of a configured regex may run before it is abandoned (a hostile pattern).</summary>
    public static readonly TimeSpan DefaultMatchTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>ASSP compiles configured regexes with /i and /s: case-insensitive, and '.' matches a line end too.</summary>
    private const RegexOptions AsspDefaults = RegexOptions.Singleline | RegexOptions.CultureInvariant;

    /// <summary>Translates and compiles; throws <see cref="PerlRegexException"/> or <see cref="ArgumentException"/> with the reason.</summary>
    public static Regex Compile(string perlPattern, TimeSpan timeout, bool ignoreCase, bool compiled = false)
    {
        var t = PerlRegexTranslator.Translate(perlPattern, ignoreCase);
        var options = t.Options | AsspDefaults;
        if (compiled) options |= RegexOptions.Compiled;
        return new Regex(t.Pattern, options, timeout);
    }

    /// <summary>Translates a pattern for embedding in a larger alternation; null with a reason when it cannot be used.</summary>
    public static string? TryTranslate(string perlPattern, bool ignoreCase, TimeSpan timeout, out string? error)
    {
        try
        {
            var t = PerlRegexTranslator.Translate(perlPattern, ignoreCase);
            // Parse it once on its own so a broken entry is reported where it is, not as a broken combination.
            var options = t.Options | AsspDefaults;
            _ = new Regex(t.Pattern, options, timeout);
            error = null;
            var inline = InlineFlags(options);
            return inline.Length == 0 ? t.Pattern : "(?" + inline + ":" + t.Pattern + ")";
        }
        catch (PerlRegexException ex)
        {
            error = ex.Message;
            return null;
        }
        catch (ArgumentException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    /// <summary>
    /// Whether a translated pattern refers back to its own groups; such a pattern cannot join an alternation,
    /// where its group numbers would point at other entries' groups.
    /// </summary>
    public static bool HasBackreference(string translated)
    {
        for (int i = 0; i < translated.Length - 1; i++)
        {
            if (translated[i] != '\\') continue;
            char next = translated[i + 1];
            if (next == 'k' || (next >= '1' && next <= '9')) return true;
            i++;
        }
        return false;
    }

    private static string InlineFlags(RegexOptions o)
    {
        var s = "";
        if (o.HasFlag(RegexOptions.IgnoreCase)) s += "i";
        if (o.HasFlag(RegexOptions.Multiline)) s += "m";
        if (o.HasFlag(RegexOptions.Singleline)) s += "s";
        if (o.HasFlag(RegexOptions.IgnorePatternWhitespace)) s += "x";
        if (o.HasFlag(RegexOptions.ExplicitCapture)) s += "n";
        return s;
    }

    /// <summary>Runs a match and turns a timeout into "no match", reporting it to the caller.</summary>
    public static Match? SafeMatch(Regex regex, string input, Action<RegexMatchTimeoutException>? onTimeout = null)
    {
        try
        {
            var m = regex.Match(input);
            return m.Success ? m : null;
        }
        catch (RegexMatchTimeoutException ex)
        {
            onTimeout?.Invoke(ex);
            return null;
        }
    }
}
