namespace Assp.Checks.PenaltyBox;

/// <summary>What a PenaltyBox decision asks the session to do.</summary>
public enum PenaltyAction
{
    Pass,
    /// <summary>The rule matched but its mode is monitor (2): log "[monitoring] …" and go on.</summary>
    Monitor,
    /// <summary>Refuse permanently (the reply is given when ASSP has a fixed one, else the caller uses PenaltyError/SpamError).</summary>
    Block,
    /// <summary>Refuse for now (DelayIP greystriking).</summary>
    TempFail,
}

/// <summary>
/// A PenaltyBox decision. <see cref="ValenceOption"/>/<see cref="ScoreReason"/>, when set, name the message score
/// ASSP adds at this point (message only, no IP score): pbwValencePB "InWhiteBox", pbValencePB "BadHistory",
/// pbeValencePB "ExtremeHistory".
/// </summary>
public readonly record struct PenaltyDecision(
    PenaltyAction Action,
    double Total = 0,
    string? Reason = null,
    string? Reply = null,
    string? ValenceOption = null,
    string? ScoreReason = null)
{
    public static readonly PenaltyDecision Pass = default;
    public bool Refuses => Action is PenaltyAction.Block or PenaltyAction.TempFail;
}

/// <summary>What <see cref="IpPenaltyBox.AddBlack"/> did.</summary>
public enum BlackAddOutcome
{
    /// <summary>A new record was started.</summary>
    Created,
    /// <summary>The score was added to the record.</summary>
    Added,
    /// <summary>A bonus brought the total to zero or below; the record was removed.</summary>
    Cleared,
    /// <summary>DoPenalty is off.</summary>
    Disabled,
    /// <summary>Private addresses are never scored.</summary>
    PrivateIp,
    /// <summary>The IP is in noPB (its records were removed).</summary>
    NoPenaltyBox,
    /// <summary>The IP is in the WhiteBox.</summary>
    WhiteBox,
    /// <summary>Nothing to add: a zero score, or a bonus for an IP that has no record.</summary>
    NoScore,
}

public readonly record struct BlackAddResult(BlackAddOutcome Outcome, double Total, string Key)
{
    public bool Stored => Outcome is BlackAddOutcome.Created or BlackAddOutcome.Added;
}

/// <summary>Everything the PenaltyBox knows about one IP (expired records count as absent).</summary>
public sealed record PenaltyBoxStatus(string Key, BlackRecord? Black, WhiteRecord? White, bool OverLimit, bool Extreme)
{
    public bool InBlack => Black is not null;
    public bool InWhite => White is not null;
    public double BlackScore => Black?.Score ?? 0;
}

/// <summary>How an address stands in the trap counter (DoPenaltyMakeTraps).</summary>
public readonly record struct TrapStatus(int Count, bool IsTrap, bool ActsAsTrap)
{
    public static readonly TrapStatus None = default;
}

/// <summary>Counts of one cleanup run, for the maintenance log.</summary>
public readonly record struct PenaltyBoxCleanup(
    int BlackBefore, int BlackDeleted, bool BlackWiped,
    int WhiteBefore, int WhiteDeleted,
    int TrapsBefore, int TrapsDeleted,
    int EmbargoesDeleted)
{
    /// <summary>ASSP's maintenance log lines (only for tables that had entries).</summary>
    public IEnumerable<string> LogLines()
    {
        if (BlackWiped) yield return $"PenaltyBox: BlackBox (PBBlack) cleared (PenaltyExpiration is 0): deleted={BlackDeleted}";
        else if (BlackBefore != 0) yield return $"PenaltyBox: cleaning BlackBox (PBBlack) finished: IP's before={BlackBefore}, deleted={BlackDeleted}";
        if (WhiteBefore != 0) yield return $"PenaltyBox: cleaning WhiteBox (PBWhite) finished: IP's before={WhiteBefore}, deleted={WhiteDeleted}";
        if (TrapsBefore != 0) yield return $"PBTrap: cleaning finished: before={TrapsBefore}, deleted={TrapsDeleted}";
        if (EmbargoesDeleted != 0) yield return $"DelayIPPB: cleaning cache finished: deleted={EmbargoesDeleted}";
    }
}

/// <summary>The result of an extreme export (DoExtremeExport).</summary>
public readonly record struct ExtremeExportResult(bool Written, string? Path, int Entries, int Imported, int Added, string? Error = null)
{
    public string? LogLine => Written ? $"PenaltyBox: {Path} exported, entries:{Entries}"
        : Error is null ? null : $"PenaltyBox: export of extreme IPs failed: {Error}";
}
