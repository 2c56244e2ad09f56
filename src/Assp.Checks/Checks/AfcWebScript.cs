using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Mime;
using Assp.Mime.Conversion;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP_AFCWebScript (with DoASSP_AFC enabled): an attachment whose encoded size is over ASSP_AFCinsize KB (incoming
/// mail) or ASSP_AFCoutsize KB (relayed and local mail) is written, decoded, to the transfer folder as
/// "&lt;message id&gt;_&lt;file name&gt;" and the script is run; what it prints replaces the attachment (a text/html
/// part when it holds &lt;HTML&gt;, else text/plain). No output, or output starting with "error", leaves the attachment.
/// In the command FILENAME becomes the stored file's full path and $name the session's value of that name (relayok,
/// ip, mailfrom, rcpt, helo, msgtime, whitelisted, noprocessing) or of the configuration option of that name; every
/// such value is passed shell-quoted, as a single word, because it may come from the mail. The script should remove
/// the file; what it leaves is removed afterwards.
/// </summary>
public sealed class AfcWebScript : IMessageCheck
{
    public static readonly CheckDefinition Check = new("ASSP_AFCWebScript", "[Attachment]", null, RunsOnOutgoing: true);

    /// <summary>How long one run of the script may take before it is stopped and the attachment is left as it is.</summary>
    public static TimeSpan ScriptTimeLimit { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>More output than this is not a link text; it is cut off there.</summary>
    private const int MaxOutputChars = 256 * 1024;

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    /// <summary>After the attachment and virus checks (a refused mail needs no link), before charset conversion.</summary>
    public int Order => 930;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        var script = cfg["ASSP_AFCWebScript"].Trim();
        if (cfg.GetChoice("DoASSP_AFC") != 1 || script.Length == 0) return Verdict.Pass;
        bool relayed = st.RelayOk || c.Mail.IsOutgoing;
        long limit = cfg.GetLong(relayed ? "ASSP_AFCoutsize" : "ASSP_AFCinsize") * 1024;
        if (limit <= 0) return Verdict.Pass;
        var msg = st.ReplacementMessage is { } changed ? MimeParser.Parse(changed) : st.Parsed;
        if (msg is null) return Verdict.Pass;
        int logLevel = cfg.GetChoice("AttachmentLog");

        var replacements = new List<(MimeEntity Part, Func<string, string> Build)>();
        foreach (var part in msg.Entities.Where(e => e.Owner == msg && !e.IsMultipart && e.Parent is not null))
        {
            if (part.ContentDisposition?.IsAttachment != true || part.RawBody.Length <= limit) continue;
            var name = part.FileName;
            if (string.IsNullOrEmpty(name) || !AttachmentReplacer.CanReplace(msg, part)) continue;
            var text = await StoreAndRunAsync(c, script, name, part, relayed, cancellationToken).ConfigureAwait(false);
            if (text is null) continue;
            replacements.Add((part, eol => LinkPart(text, eol)));
            if (logLevel >= 1)
                c.Log($"attachment {name} with size of {part.RawBody.Length.ToString(CultureInfo.InvariantCulture)} bytes was stored outside for download and replaced by script result.");
        }
        if (replacements.Count > 0) st.ReplacementMessage = AttachmentReplacer.ReplaceParts(msg, replacements);
        return Verdict.Pass;
    }

    /// <summary>Writes the decoded attachment to the transfer folder, runs the script and returns its text when it is
    /// to replace the attachment (null: leave it).</summary>
    private static async Task<string?> StoreAndRunAsync(CheckContext c, string script, string name, MimeEntity part, bool relayed, CancellationToken ct)
    {
        var cfg = c.Config;
        var folder = Path.Combine(cfg.BaseDirectory, "transfer");
        var id = SafeName(c.State.SessionId ?? c.Mail.SessionId);
        var file = Path.Combine(folder, $"{id}_{SafeName(name)}");
        string command;
        try
        {
            command = Command(c, script, file, relayed);
        }
        catch (ArgumentException ex)
        {
            c.Log("error: AFC-WebScript - " + ex.Message);
            return null;
        }
        try
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllBytesAsync(file, part.GetContentBytes().ToArray(), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            c.Log($"error: AFC-WebScript - can't store the attachment {name} in {folder} - {ex.Message}");
            return null;
        }
        string output;
        try
        {
            output = await RunAsync(command, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
        {
            c.Log($"error: AFC-WebScript '{script}' failed for file '{file}' - {ex.Message}");
            output = "";
        }
        finally
        {
            if (File.Exists(file))
            {
                c.Log($"warning: file '{file}' was not removed by WebScript - it is now removed by assp");
                try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        if (output.Trim().Length == 0)
        {
            c.Log($"warning: WebScript returned no result for file '{file}'");
            return null;
        }
        if (output.TrimStart().StartsWith("error", StringComparison.OrdinalIgnoreCase))
        {
            c.Log("error: WebScript returned: " + output.Trim());
            return null;
        }
        return output;
    }

    private static readonly Regex s_variable = new(@"\$(\S+)", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    /// <summary>The command line: $name replaced by the shell-quoted session or configuration value, FILENAME by the
    /// quoted path. An unknown $name is an error (as in ASSP: the script is not run).</summary>
    internal static string Command(CheckContext c, string script, string file, bool relayed)
    {
        var st = c.State;
        var command = s_variable.Replace(script, m =>
        {
            var var = m.Groups[1].Value;
            string? value = var switch
            {
                "relayok" => relayed ? "1" : "0",
                "ip" => c.Mail.RemoteAddress.ToString(),
                "mailfrom" => c.Mail.MailFrom ?? "",
                "rcpt" => string.Join(' ', c.Mail.Recipients),
                "helo" => c.Mail.Helo ?? "",
                "msgtime" or "msgid" => st.SessionId ?? c.Mail.SessionId,
                "whitelisted" => st.IsWhitelisted ? "1" : "0",
                "noprocessing" => st.IsNoProcessing ? "1" : "0",
                _ => c.Config.Registry.Find(var) is { IsSecret: false } option ? c.Config[option.Name] : null,
            };
            return value is null ? throw new ArgumentException($"don't know what to do with ${var} - no such internal variable!") : Quote(value.Length == 0 ? "0" : value);
        });
        return command.Replace("FILENAME", Quote(file), StringComparison.Ordinal);
    }

    /// <summary>One shell word whatever it holds.</summary>
    internal static string Quote(string value) => OperatingSystem.IsWindows()
        ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The file name with everything but letters, digits and . - _ made an underscore (no path, no quotes).</summary>
    internal static string SafeName(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var ch in name) sb.Append(char.IsLetterOrDigit(ch) || ch is '.' or '-' or '_' ? ch : '_');
        var safe = sb.ToString().TrimStart('.');
        return safe.Length == 0 ? "attachment" : safe.Length > 200 ? safe[^200..] : safe;
    }

    /// <summary>Runs the command through the system shell and returns what it printed.</summary>
    private static async Task<string> RunAsync(string command, CancellationToken ct)
    {
        var psi = OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd.exe") { ArgumentList = { "/d", "/c", command } }
            : new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", command } };
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        psi.StandardOutputEncoding = Encoding.UTF8;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("the shell could not be started");
        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ScriptTimeLimit);
        var stdout = ReadLimitedAsync(process.StandardOutput, timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            var text = await stdout.ConfigureAwait(false);
            await stderr.ConfigureAwait(false);
            return text;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"the script did not end within {ScriptTimeLimit.TotalSeconds:0} seconds and was stopped");
        }
    }

    private static async Task<string> ReadLimitedAsync(StreamReader reader, CancellationToken ct)
    {
        var sb = new StringBuilder();
        var buffer = new char[8192];
        int n;
        while ((n = await reader.ReadAsync(buffer.AsMemory(), ct).ConfigureAwait(false)) > 0)
            if (sb.Length < MaxOutputChars) sb.Append(buffer, 0, Math.Min(n, MaxOutputChars - sb.Length));
        return sb.ToString();
    }

    /// <summary>The part that takes the attachment's place: the script's text, html when it holds &lt;HTML&gt;.</summary>
    private static string LinkPart(string text, string eol)
    {
        var subtype = text.Contains("<html>", StringComparison.OrdinalIgnoreCase) ? "html" : "plain";
        var bytes = Encoding.UTF8.GetBytes(text);
        bool sevenBit = bytes.All(b => b < 128) && !text.Split('\n').Any(l => l.Length > 990);
        var body = sevenBit ? string.Join(eol, text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n'))
            : QuotedPrintable.Encode(bytes, eol).TrimEnd('\r', '\n');
        return $"Content-Type: text/{subtype}; charset=\"UTF-8\"{eol}Content-Transfer-Encoding: {(sevenBit ? "7bit" : "quoted-printable")}{eol}{eol}{body}";
    }
}
