using System.Globalization;
using System.Text;
using Assp.Config;
using Assp.Checks.Decision;

namespace Assp.Checks.Collection;

/// <summary>
/// ASSP's names for collected files: the cleaned subject and a running counter ("cheap_pills--1234.eml") when
/// UseSubjectsAsMaillogNames is on, else a number below MaxFiles drawn per FilesDistribution, so a folder never holds
/// more than MaxFiles files and new mail overwrites old numbers.
/// </summary>
public static class CollectFileNames
{
    /// <summary>ASSP's counter runs to this and starts again at 1.</summary>
    public const long CounterWrap = 999_999_999;

    /// <summary>
    /// The subject made safe for a file name. Without UseUnicode4MaillogNames only ASCII letters and digits stay;
    /// everything else becomes '_'. Runs of '_' shrink to one and '_'/'.' are trimmed at both ends.
    /// </summary>
    public static string CleanSubject(string? subject, bool unicode, int maxLength)
    {
        if (string.IsNullOrEmpty(subject)) return "";
        var sb = new StringBuilder(subject.Length);
        foreach (var c in subject.Replace("\r", "").Replace("\n", ""))
        {
            if (char.IsControl(c)) continue;
            bool keep = unicode
                ? char.IsLetterOrDigit(c) || (c > ' ' && !IsForbidden(c) && !char.IsWhiteSpace(c) && !char.IsSurrogate(c))
                : c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9';
            sb.Append(keep ? c : '_');
        }
        var s = sb.ToString();
        // A name starts with a letter or digit.
        int lead = 0;
        while (lead < s.Length && !char.IsLetterOrDigit(s[lead])) lead++;
        if (lead > 0) s = "_" + s[lead..];
        while (s.Contains("..", StringComparison.Ordinal)) s = s.Replace("..", ".", StringComparison.Ordinal);
        while (s.Contains("__", StringComparison.Ordinal)) s = s.Replace("__", "_", StringComparison.Ordinal);
        s = s.Trim('_', '.');
        if (maxLength > 0 && s.Length > maxLength) s = s[..maxLength];
        return s;
    }

    /// <summary>Characters no file name may hold (ASSP's list: path separators, wildcards, quotes, '.', '&amp;', currency signs).</summary>
    private static bool IsForbidden(char c) =>
        c is '^' or '<' or '>' or '?' or '"' or '\'' or ':' or '|' or '\\' or '/' or '*' or '&' or '.'
        || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.CurrencySymbol;

    /// <summary>
    /// ASSP's random file number in [0, MaxFiles): uniform for FilesDistribution 1, else exponential towards low numbers
    /// (0.01-0.99: the smaller, the more the low numbers are reused and the slower the corpus turns over).
    /// </summary>
    public static long RandomNumber(long maxFiles, double distribution, Random random)
    {
        if (maxFiles <= 0) maxFiles = 14000;
        if (distribution is > 0 and < 1.0)
        {
            double p1 = 1.0 - distribution, p2 = Math.Log(distribution);
            long n = (long)(maxFiles * Math.Log(1.0 - random.NextDouble() * p1) / p2);
            return Math.Clamp(n, 0, maxFiles - 1);
        }
        return (long)(maxFiles * random.NextDouble());
    }

    /// <summary>
    /// The file name (without folder) for a message: subject and counter with UseSubjectsAsMaillogNames, and for
    /// okmail/quarantine always; else the random number, with the counter added when MaintBayesCollection deletes by
    /// age (MaxBayesFileAge for spam/notspam, MaxNoBayesFileAge for the others), as ASSP names them.
    /// </summary>
    public static string FileName(ConfigSnapshot cfg, CollectTarget target, string? subject, long counter, long randomNumber)
    {
        bool bySubject = cfg.GetBool("UseSubjectsAsMaillogNames");
        int maxLength = cfg.GetInt("MaxFileNameLength", 50);
        if (maxLength <= 0) maxLength = 50;
        var clean = CleanSubject(subject, cfg.GetBool("UseUnicode4MaillogNames"), maxLength);
        bool bayesFolder = target is CollectTarget.Spam or CollectTarget.SpamAndCopy or CollectTarget.NotSpam;
        string name;
        if (bySubject || target is CollectTarget.OkMail or CollectTarget.Quarantine)
            name = clean + "--" + counter.ToString(CultureInfo.InvariantCulture);
        else if (cfg.GetBool("MaintBayesCollection")
                 && ((bayesFolder && FirstNumber(cfg["MaxBayesFileAge"]) > 0) || (!bayesFolder && FirstNumber(cfg["MaxNoBayesFileAge"]) > 0)))
            name = randomNumber.ToString(CultureInfo.InvariantCulture) + "--" + counter.ToString(CultureInfo.InvariantCulture);
        else
            name = randomNumber.ToString(CultureInfo.InvariantCulture);
        return name + cfg["maillogExt"].Trim();
    }

    /// <summary>The first number of an age option such as "30 60"; 0 when absent.</summary>
    public static double FirstNumber(string value) => Numbers(value, 1)[0];

    /// <summary>The whitespace-separated numbers of an age option; a missing one repeats the first (ASSP's rule).</summary>
    public static double[] Numbers(string value, int count)
    {
        var parts = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var result = new double[count];
        for (int i = 0; i < count; i++)
        {
            if (i < parts.Length && double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) result[i] = Math.Max(0, v);
            else result[i] = i == 0 ? 0 : result[0];
        }
        return result;
    }
}
