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

    private static bool Take(string format, ref int i, string token)
    {
        if (string.CompareOrdinal(format, i, token, 0, token.Length) != 0) return false;
        i += token.Length;
        return true;
    }
}
