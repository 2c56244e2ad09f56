using System.Text.RegularExpressions;

namespace Assp.Checks.Decision;

/// <summary>
/// What a mail's match of a *Re option leaves behind: a maillog line (regexLogging, on by default) and, with
/// AddRegexHeader, an X-Assp-Re-&lt;option&gt; header with the matched text. The text is shown with runs of white
/// space as one space and cut to RegExLength characters, as ASSP shows it.
/// </summary>
public static partial class RegexMatchNote
{
    public static void Record(IMailContext mail, string option, string matched, string action, string? where = null)
    {
        var cfg = mail.Config;
        var shown = Shown(matched, cfg.GetInt("RegExLength", 32));
        if (cfg.GetBool("regexLogging"))
            mail.Log($"{option}{(where is null ? "" : $" ({where})")} found '{shown}' - {action}");
        if (cfg.GetBool("AddRegexHeader"))
            mail.CheckState.Message.AddHeader($"X-Assp-Re-{option}: {shown}");
    }

    public static string Shown(string matched, int maxLength)
    {
        var text = WhiteSpace().Replace(matched, " ");
        int max = Math.Max(5, maxLength);
        return text.Length <= max ? text : text[..max];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
