namespace Assp.Config.Registry;

/// <summary>What sort of value an ASSP option holds; decides validation, parsing and the GUI widget.</summary>
public enum OptionKind
{
    Text,
    Bool,
    Choice,
    Password,
    Int,
    Decimal,
    /// <summary>A PenaltyBox score: one number, or "message,ip".</summary>
    Valence,
    Schedule,
    /// <summary>An SMTP reply that starts with a 2xx/4xx/5xx code.</summary>
    Reply,
    Listen,
    Destination,
    /// <summary>A `*` option holding Perl regexes (no weights).</summary>
    Regex,
    /// <summary>A `**` option: regexes that may carry `=&gt;weight` and `:&gt;NWLI` flags.</summary>
    WeightedRegex,
    IpList,
    AddressList,
    /// <summary>Addresses/domains matched at the end of the address, with sender=&gt;recipient scoping.</summary>
    DomainList,
    /// <summary>Any other `*` list option (pipe list or file:).</summary>
    List,
    File,
}

public static class OptionKindExtensions
{
    /// <summary>True for options whose value may be a `|` list or a `file:` reference.</summary>
    public static bool IsList(this OptionKind kind) => kind is OptionKind.Regex or OptionKind.WeightedRegex
        or OptionKind.IpList or OptionKind.AddressList or OptionKind.DomainList or OptionKind.List;

    public static string ToToken(this OptionKind kind) => kind switch
    {
        OptionKind.WeightedRegex => "weighted-regex",
        OptionKind.IpList => "ip-list",
        OptionKind.AddressList => "address-list",
        OptionKind.DomainList => "domain-list",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static bool TryParse(string token, out OptionKind kind)
    {
        foreach (var k in Enum.GetValues<OptionKind>())
        {
            if (k.ToToken() == token) { kind = k; return true; }
        }
        kind = OptionKind.Text;
        return false;
    }
}
