using Assp.Config;

namespace Assp.Checks.PenaltyBox;

/// <summary>The PenaltyBox options of one snapshot, read once (cached on the snapshot) and converted to seconds.</summary>
internal sealed class PenaltyBoxSettings
{
    public int Mode { get; }
    public bool Netblocks { get; }
    public double Limit { get; }
    public double Extreme { get; }
    public long DurationSeconds { get; }
    /// <summary>0 means "wipe the BlackBox at every cleanup", so it never expires a record on its own.</summary>
    public long ExpirationSeconds { get; }
    public long ExtremeExpirationSeconds { get; }
    public long WhiteExpirationSeconds { get; }
    public long GlobalBlackSeconds { get; }
    public long GlobalWhiteSeconds { get; }

    private PenaltyBoxSettings(ConfigSnapshot cfg)
    {
        Mode = cfg.GetChoice("DoPenalty");
        Netblocks = cfg.GetBool("PenaltyUseNetblocks");
        Limit = cfg.GetDecimal("PenaltyLimit");
        Extreme = cfg.GetDecimal("PenaltyExtreme");
        DurationSeconds = Seconds(cfg, "PenaltyDuration", 60);
        ExpirationSeconds = Seconds(cfg, "PenaltyExpiration", 60);
        ExtremeExpirationSeconds = Seconds(cfg, "ExtremeExpiration", 86400);
        WhiteExpirationSeconds = Seconds(cfg, "WhiteExpiration", 86400);
        GlobalBlackSeconds = Seconds(cfg, "globalBlackExpiration", 3600);
        GlobalWhiteSeconds = Seconds(cfg, "globalWhiteExpiration", 86400);
    }

    public static PenaltyBoxSettings For(ConfigSnapshot cfg) => cfg.Derived("PenaltyBox.Settings", static c => new PenaltyBoxSettings(c));

    private static long Seconds(ConfigSnapshot cfg, string option, long unit) => (long)Math.Max(0, cfg.GetDecimal(option) * unit);

    /// <summary>The key an IP is scored and looked up under.</summary>
    public string LookupKey(System.Net.IPAddress ip) => Netblocks ? PbAddress.NetKey(ip) : PbAddress.IpKey(ip);

    /// <summary>
    /// ASSP's cleanBlackPB age rules, applied on every read too, so a record is gone at the moment the rules say
    /// (not only when the next cleanup happens to run).
    /// </summary>
    public bool BlackExpired(BlackRecord r, long now)
    {
        if (r.IsGlobal) return now - r.Updated > GlobalBlackSeconds;
        long age = now - r.Created;
        if (age > DurationSeconds && r.Score < Limit) return true;
        if (ExpirationSeconds > 0 && age > ExpirationSeconds && r.Score < Extreme) return true;
        return age > ExtremeExpirationSeconds && r.Score >= Extreme;
    }

    /// <summary>ASSP's cleanWhitePB age rule: local entries after WhiteExpiration days without renewal, global ones after globalWhiteExpiration.</summary>
    public bool WhiteExpired(WhiteRecord w, long now) =>
        now - w.Updated >= (w.Status == WhiteRecord.GlobalStatus ? GlobalWhiteSeconds : WhiteExpirationSeconds);

    public bool IsExtreme(double score) => Extreme > 0 && score >= Extreme;
}
