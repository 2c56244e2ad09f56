namespace Assp.Auth.Arc;

/// <summary>The chain validation status (cv) of RFC 8617.</summary>
public enum ArcChainStatus
{
    /// <summary>No ARC sets in the message.</summary>
    None,
    Pass,
    Fail,
}

/// <summary>
/// The outcome of ARC validation. For a passing chain, <see cref="SealDomain"/> and <see cref="AuthenticationResults"/>
/// come from the newest set: who vouches for the message and what that hop saw (SPF, DKIM, DMARC).
/// </summary>
/// <param name="Status">none, pass or fail.</param>
/// <param name="Reason">Why the chain failed; empty otherwise.</param>
/// <param name="Instances">The highest instance number (0 without ARC).</param>
/// <param name="SealDomain">d= of the newest ARC-Seal, lower case, or empty.</param>
/// <param name="AuthenticationResults">The newest ARC-Authentication-Results value after its "i=N;", or empty.</param>
/// <param name="OldestPass">The lowest instance whose AMS still verifies (1 when the message is unchanged since the first hop); 0 when unknown.</param>
public sealed record ArcResult(ArcChainStatus Status, string Reason, int Instances, string SealDomain, string AuthenticationResults, int OldestPass)
{
    public static readonly ArcResult NoChain = new(ArcChainStatus.None, "", 0, "", "", 0);

    /// <summary>The cv= / arc= name: none, pass or fail.</summary>
    public string Name => Status switch { ArcChainStatus.Pass => "pass", ArcChainStatus.Fail => "fail", _ => "none" };
}
