using System.Globalization;
using System.Text;

namespace Assp.Config.Logging;

/// <summary>
/// ASSP's date tokens for log lines (LogDateFormat) and rolled log names (LogNameDate): YYYY, YY, MMM (month name),
/// MM, DDD (day name), DD, hh, mm, ss. Month and day names follow LogDateLang.
/// </summary>
public static class LogDateFormat
{
    // LogDateLang codes 0..13, in ASSP's order: English, French, German, Spanish, Portuguese, Dutch, Italian,
    // Norwegian, Swedish, Danish, Finnish, Hungarian, Polish, Romanian.
    private static readonly string[][] s_months =
    [
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        ["jan", "fév", "mar", "avr", "mai", "jun", "jul", "aoû", "sep", "oct", "nov", "déc"],
        ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"],
        ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"],
        ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"],
        ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
        ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
        ["jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des"],
        ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
        ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
        ["tam", "hel", "maa", "huh", "tou", "kes", "hei", "elo", "syy", "lok", "mar", "jou"],
        ["jan", "feb", "már", "ápr", "máj", "jún", "júl", "aug", "sze", "okt", "nov", "dec"],
        ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"],
        ["ian", "feb", "mar", "apr", "mai", "iun", "iul", "aug", "sep", "oct", "noi", "dec"],
    ];

    // Sunday first, as DayOfWeek counts.
    private static readonly string[][] s_days =
    [
        ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
        ["dim", "lun", "mar", "mer", "jeu", "ven", "sam"],
        ["Son", "Mon", "Die", "Mit", "Don", "Fre", "Sam"],
        ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"],
        ["dom", "seg", "ter", "qua", "qui", "sex", "sáb"],
        ["zon", "maa", "din", "woe", "don", "vri", "zat"],
        ["dom", "lun", "mar", "mer", "gio", "ven", "sab"],
        ["søn", "man", "tir", "ons", "tor", "fre", "lør"],
        ["sön", "mån", "tis", "ons", "tor", "fre", "lör"],
        ["søn", "man", "tir", "ons", "tor", "fre", "lør"],
        ["sun", "maa", "tii", "kes", "tor", "per", "lau"],
        ["vas", "hét", "ked", "sze", "csü", "pén", "szo"],
        ["nie", "pon", "wto", "śro", "czw", "pią", "sob"],
        ["dum", "lun", "mar", "mie", "joi", "vin", "sâm"],
    ];

    public static int LanguageCount => s_months.Length;

    public static string Format(DateTime time, string format, int language = 0)
    {
        if (language < 0 || language >= s_months.Length) language = 0;
        var sb = new StringBuilder(format.Length + 8);
        int i = 0;
        while (i < format.Length)
        {
            if (Take(format, ref i, "YYYY")) sb.Append(time.Year.ToString("D4", CultureInfo.InvariantCulture));
            else if (Take(format, ref i, "YY")) sb.Append((time.Year % 100).ToString("D2", CultureInfo.InvariantCulture));
            else if (Take(format, ref i, "MMM")) sb.Append(s_months[language][time.Month - 1]);
            else if (Take(format, ref i, "MM")) sb.Append(time.Month.ToString("D2", CultureInfo.InvariantCulture));
            else if (Take(format, ref i, "DDD")) sb.Append(s_days[language][(int)time.DayOfWeek]);
            else if (Take(format, ref i, "DD")) sb.Append(time.Day.ToString("D2", CultureInfo.InvariantCulture));
            else if (Take(format, ref i, "hh")) sb.Append(time.Hour.ToString("D2", CultureInfo.InvariantCulture));
            else if (Take(format, ref i, "mm")) sb.Append(time.Minute.ToString("D2", CultureInfo.InvariantCulture));
            else if (Take(format, ref i, "ss")) sb.Append(time.Second.ToString("D2", CultureInfo.InvariantCulture));
            else sb.Append(format[i++]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// A regex (anchored at the start) that matches a time written with <paramref name="format"/>, with named groups
    /// Y4, Y2, Mon, M, D, h, m, s; <see cref="Parse"/> reads a match back into a time.
    /// </summary>
    public static string Pattern(string format, int language = 0)
    {
        if (language < 0 || language >= s_months.Length) language = 0;
        var sb = new StringBuilder("^");
        int i = 0;
        while (i < format.Length)
        {
            if (Take(format, ref i, "YYYY")) sb.Append(@"(?<Y4>\d{4})");
            else if (Take(format, ref i, "YY")) sb.Append(@"(?<Y2>\d{2})");
            else if (Take(format, ref i, "MMM")) sb.Append("(?<Mon>").AppendJoin('|', s_months[language].Select(System.Text.RegularExpressions.Regex.Escape)).Append(')');
            else if (Take(format, ref i, "MM")) sb.Append(@"(?<M>\d{2})");
            else if (Take(format, ref i, "DDD")) sb.Append("(?:").AppendJoin('|', s_days[language].Select(System.Text.RegularExpressions.Regex.Escape)).Append(')');
            else if (Take(format, ref i, "DD")) sb.Append(@"(?<D>\d{2})");
            else if (Take(format, ref i, "hh")) sb.Append(@"(?<h>\d{2})");
            else if (Take(format, ref i, "mm")) sb.Append(@"(?<m>\d{2})");
            else if (Take(format, ref i, "ss")) sb.Append(@"(?<s>\d{2})");
            else sb.Append(System.Text.RegularExpressions.Regex.Escape(format[i++].ToString()));
        }
        return sb.ToString();
    }

    /// <summary>The time of a <see cref="Pattern"/> match; parts the format lacks come from <paramref name="reference"/> (e.g. the year).</summary>
    public static DateTime? Parse(System.Text.RegularExpressions.Match match, DateTime reference, int language = 0)
    {
        if (!match.Success) return null;
        if (language < 0 || language >= s_months.Length) language = 0;
        int Get(string group, int fallback) =>
            match.Groups[group] is { Success: true } g && int.TryParse(g.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : fallback;
        int year = match.Groups["Y4"].Success ? Get("Y4", reference.Year) : match.Groups["Y2"].Success ? 2000 + Get("Y2", reference.Year % 100) : reference.Year;
        int month = match.Groups["Mon"].Success ? Array.IndexOf(s_months[language], match.Groups["Mon"].Value) + 1 : Get("M", reference.Month);
        int day = Get("D", reference.Day);
        int hour = Get("h", 0), minute = Get("m", 0), second = Get("s", 0);
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
        return new DateTime(year, month, day, hour, minute, second, DateTimeKind.Local);
    }

    private static bool Take(string format, ref int i, string token)
    {
        if (string.CompareOrdinal(format, i, token, 0, token.Length) != 0) return false;
        i += token.Length;
        return true;
    }
}
