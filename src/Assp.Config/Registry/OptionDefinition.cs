using System.Globalization;

namespace Assp.Config.Registry;

/// <summary>One stored code of a drop-down option and the label the GUI shows for it.</summary>
public readonly record struct OptionChoice(string Code, string Label);

/// <summary>Everything the proxy knows about one ASSP option. Names are ASSP's exactly.</summary>
public sealed class OptionDefinition
{
    public required string Name { get; init; }
    public required string Section { get; init; }
    /// <summary>ASSP's widget name (checkbox, listbox, textinput, passinput, ...).</summary>
    public required string Widget { get; init; }
    public required OptionKind Kind { get; init; }
    public required IReadOnlyList<OptionChoice> Choices { get; init; }
    public required string Default { get; init; }
    public required OptionRule Rule { get; init; }
    public required string Description { get; init; }

    /// <summary>
    /// Values never shown back (GUI, API, problem reports): passwords, and the two keys ASSP keeps in plain text
    /// fields (whoever knows SRSSecretKey can forge SRS addresses that pass as our own bounces).
    /// </summary>
    public bool IsSecret => Kind == OptionKind.Password || Name is "SRSSecretKey" or "VirusTotalAPIKey";

    /// <summary>Checks a value against the option's kind and rule. Returns null when valid, else a reason.</summary>
    public string? Validate(string value)
    {
        if (value.Length == 0)
        {
            if (Rule.AllowsEmpty || Default.Length == 0 || Kind is OptionKind.Bool or OptionKind.Text or OptionKind.Password
                || Kind.IsList() || Kind is OptionKind.File or OptionKind.Listen or OptionKind.Destination)
                return null;
            return "a value is required";
        }
        if (value.Contains('\n') || value.Contains('\r')) return "a value must be on one line";
        string? kindError = Kind switch
        {
            OptionKind.Bool => value is "0" or "1" ? null : "must be 0 or 1 (or empty)",
            // Some drop-downs are filled at run time (charsets, admin users): no fixed codes to check against.
            OptionKind.Choice => Choices.Count == 0 || Choices.Any(c => c.Code == value) ? null
                : "must be one of " + string.Join(", ", Choices.Select(c => $"{c.Code} ({c.Label})")),
            OptionKind.Int => ValueSyntax.IsInteger(value) ? CheckRange(value) : "must be a whole number",
            OptionKind.Decimal => ValueSyntax.IsDecimal(value) ? CheckRange(value) : "must be a number",
            OptionKind.Valence => ValueSyntax.IsValence(value) ? null : "must be a score (n) or a message,ip score pair (n,m)",
            OptionKind.Reply => ValueSyntax.IsSmtpReply(value) ? null : "must start with a 2xx, 4xx or 5xx reply code and a space",
            OptionKind.Listen => ValueSyntax.ListenError(value),
            OptionKind.Destination => ValueSyntax.DestinationError(value),
            OptionKind.Schedule => ValueSyntax.ScheduleError(value),
            _ => null,
        };
        if (kindError is not null) return kindError;
        if (Rule.Pattern is not null && !Rule.Pattern.IsMatch(value)) return "does not have the accepted form";
        // A file: reference is checked line by line when the file is read (ConfigLoader).
        if (Rule.ChecksCharsets && ConfigLoader.FileReference(value) is null) return Registry.CharsetRules.Error(value);
        return MeaningError(value);
    }

    /// <summary>Values whose form is fine but whose content must also be something .NET can carry out.</summary>
    private string? MeaningError(string value)
    {
        string? error = null;
        switch (Name)
        {
            case "SSL_version": Tls.TlsProtocolSpec.Parse(value, out error); break;
            case "SSL_cipher_list": Tls.OpenSslCipherList.Parse(value, out error); break;
            case "TCPBufferSize": Net.TcpBufferSizes.Parse(value, out error); break;
        }
        return error;
    }

    private string? CheckRange(string value)
    {
        if (Rule.Min is null && Rule.Max is null) return null;
        var number = decimal.Parse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);
        if (Rule.Min is { } min && number < min) return $"must be at least {min.ToString(CultureInfo.InvariantCulture)}";
        if (Rule.Max is { } max && number > max) return $"must be at most {max.ToString(CultureInfo.InvariantCulture)}";
        return null;
    }

    /// <summary>The GUI label of a stored drop-down code, or the value itself.</summary>
    public string DisplayValue(string value)
    {
        if (IsSecret) return value.Length == 0 ? "" : "********";
        if (Kind == OptionKind.Choice)
        {
            foreach (var c in Choices) if (c.Code == value) return $"{c.Code}:{c.Label}";
        }
        return value;
    }
}
