using System.Globalization;

namespace Assp.Checks.PenaltyBox;

/// <summary>
/// One BlackBox (pbdb.black) value in ASSP's layout, <c>"created updated count score ip reason"</c> (pbBlackAdd):
/// Unix seconds of the first and the last penalty, how many penalties were added, the total score, the IP that
/// scored last and the last positive reason.
/// </summary>
public sealed record BlackRecord(long Created, long Updated, int Count, double Score, string Ip, string Reason)
{
    /// <summary>Entries downloaded from the global PenaltyBox carry GLOBALPB in the reason (ASSP tests it anywhere, ignoring case).</summary>
    public bool IsGlobal => Reason.Contains("GLOBALPB", StringComparison.OrdinalIgnoreCase);

    public string Format() => string.Join(' ',
        Created.ToString(CultureInfo.InvariantCulture), Updated.ToString(CultureInfo.InvariantCulture),
        Count.ToString(CultureInfo.InvariantCulture), PbValue.FormatScore(Score), Ip, PbValue.Word(Reason));

    /// <summary>Reads a stored value; null when it is not a BlackBox value at all.</summary>
    public static BlackRecord? Parse(string value)
    {
        var f = PbValue.Split(value, 6);
        if (f.Length < 4) return null;
        return new BlackRecord(PbValue.Long(f[0]), PbValue.Long(f[1]), (int)Math.Clamp(PbValue.Long(f[2]), 0, int.MaxValue),
            PbValue.Number(f[3]), f.Length > 4 ? f[4] : "", f.Length > 5 ? f[5] : "");
    }
}

/// <summary>
/// One WhiteBox (pbdb.white) value in ASSP's layout, <c>"created updated status reason"</c> (pbWhiteAdd); status 2 is
/// a local entry, 3 one from the global PenaltyBox.
/// </summary>
public sealed record WhiteRecord(long Created, long Updated, int Status, string Reason)
{
    public const int LocalStatus = 2;
    public const int GlobalStatus = 3;

    public string Format() => string.Join(' ',
        Created.ToString(CultureInfo.InvariantCulture), Updated.ToString(CultureInfo.InvariantCulture),
        Status.ToString(CultureInfo.InvariantCulture), PbValue.Word(Reason));

    public static WhiteRecord? Parse(string value)
    {
        var f = PbValue.Split(value, 4);
        if (f.Length < 2) return null;
        return new WhiteRecord(PbValue.Long(f[0]), PbValue.Long(f[1]), f.Length > 2 ? (int)PbValue.Long(f[2]) : LocalStatus, f.Length > 3 ? f[3] : "");
    }
}

/// <summary>One trap counter (pbdb.trap) in ASSP's layout, <c>"created updated count"</c> (pbTrapAdd), keyed by the lower-cased address.</summary>
public sealed record TrapRecord(long Created, long Updated, int Count)
{
    public string Format() => string.Create(CultureInfo.InvariantCulture, $"{Created} {Updated} {Count}");

    public static TrapRecord? Parse(string value)
    {
        var f = PbValue.Split(value, 3);
        if (f.Length < 3) return null;
        return new TrapRecord(PbValue.Long(f[0]), PbValue.Long(f[1]), (int)Math.Clamp(PbValue.Long(f[2]), 0, int.MaxValue));
    }
}

/// <summary>A BlackBox row as the GUI lists it. Network rows (PenaltyUseNetblocks) have a key other than the record's IP.</summary>
public sealed record BlackEntry(string Key, BlackRecord Record)
{
    public bool IsNetwork => Record.Ip.Length > 0 && Key != Record.Ip;
}

public sealed record WhiteEntry(string Key, WhiteRecord Record);

public sealed record TrapEntry(string Address, TrapRecord Record);

/// <summary>The three pbdb tables, for removal by key from the GUI or the email interface.</summary>
public enum PenaltyBoxTable { Black, White, Trap }

/// <summary>Field helpers with Perl's forgiving number reading, so imported ASSP files never throw.</summary>
internal static class PbValue
{
    public static string[] Split(string value, int max) =>
        value.Split((char[]?)null, max, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static long Long(string s)
    {
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)) return v;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? (long)d : 0;
    }

    public static double Number(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : 0;

    /// <summary>As Perl prints numbers (%.15g): 50, 12.5, 0.3.</summary>
    public static string FormatScore(double score) => score.ToString("G15", CultureInfo.InvariantCulture);

    /// <summary>The reason as one field: ASSP splits values on whitespace, so inner blanks would cut it (pbWhiteAdd uses '_').</summary>
    public static string Word(string reason)
    {
        var parts = reason.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 0 ? "-" : string.Join('_', parts);
    }
}
