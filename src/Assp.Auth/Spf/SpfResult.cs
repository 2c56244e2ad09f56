using System.Net;

namespace Assp.Auth.Spf;

/// <summary>The results of check_host() (RFC 7208 2.6).</summary>
public enum SpfResult
{
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

/// <summary>What an SPF check came to.</summary>
/// <param name="Result">The result.</param>
/// <param name="Domain">The domain whose policy was checked (the MAIL FROM or HELO domain).</param>
/// <param name="Explanation">For <see cref="SpfResult.Fail"/>: the exp= text, or the default explanation.</param>
/// <param name="Mechanism">The term that decided (e.g. "-all", "redirect=x"), when one did.</param>
/// <param name="Problem">Why the result is temperror/permerror/none, for logs.</param>
public sealed record SpfCheckResult(SpfResult Result, string Domain, string? Explanation = null, string? Mechanism = null, string? Problem = null)
{
    /// <summary>The result in the lower-case spelling of RFC 7208 (and of Received-SPF).</summary>
    public string ResultText => Result.ToString().ToLowerInvariant();
}

/// <summary>Limits and local names used by the evaluator; the defaults are those of RFC 7208.</summary>
public sealed class SpfOptions
{
    /// <summary>Terms that cause DNS lookups (include, a, mx, ptr, exists, redirect) allowed per check (4.6.4).</summary>
    public int MaxDnsLookups { get; init; } = 10;
    /// <summary>Lookups answered with NXDOMAIN or no records allowed per check (4.6.4).</summary>
    public int MaxVoidLookups { get; init; } = 2;
    /// <summary>MX names per mx mechanism, PTR names per ptr mechanism or %{p} (4.6.4).</summary>
    public int MaxNameLookups { get; init; } = 10;
    /// <summary>Our own host name, the %{r} macro of explanations.</summary>
    public string ReceiverName { get; init; } = "unknown";
    /// <summary>The explanation of a fail when the policy has no usable exp=; a macro-string, expanded like exp= text.</summary>
    public string DefaultExplanation { get; init; } = "Please see http://www.open-spf.org/Why?s=mfrom;id=%{S};ip=%{C};r=%{R}";
    /// <summary>The clock for %{t}.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>Ends an evaluation with temperror or permerror from wherever it is detected.</summary>
internal sealed class SpfAbort(SpfResult result, string message) : Exception(message)
{
    public SpfResult Result { get; } = result;
}

internal static class SpfAddress
{
    /// <summary>An IPv4-mapped IPv6 client is an IPv4 client for SPF.</summary>
    public static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    public static bool InNetwork(IPAddress ip, IPAddress network, int prefix)
    {
        if (ip.AddressFamily != network.AddressFamily) return false;
        Span<byte> a = stackalloc byte[16], b = stackalloc byte[16];
        ip.TryWriteBytes(a, out int len);
        network.TryWriteBytes(b, out _);
        int full = prefix / 8, rest = prefix % 8;
        if (!a[..full].SequenceEqual(b[..full])) return false;
        if (rest == 0 || full >= len) return true;
        int mask = 0xFF << (8 - rest) & 0xFF;
        return (a[full] & mask) == (b[full] & mask);
    }
}
