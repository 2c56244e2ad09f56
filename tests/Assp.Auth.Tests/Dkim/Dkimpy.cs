using System.Diagnostics;

namespace Assp.Auth.Tests.Dkim;

/// <summary>
/// Debian's dkimpy (python3-dkim, scripts/install-test-deps.sh) as an independent verifier: checks every message
/// of a folder against keys given in memory (no DNS), one python process for the lot.
/// </summary>
public static class Dkimpy
{
    private const string Script = """
import sys, os, dkim
keys = {}
with open(sys.argv[2], 'rb') as f:
    for line in f:
        name, _, record = line.rstrip(b'\n').partition(b' ')
        keys[name.decode().rstrip('.') + '.'] = record
def dns(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return keys.get(n.rstrip('.') + '.')
mode = sys.argv[3]
for fn in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], fn), 'rb') as f:
        msg = f.read()
    try:
        if mode == 'arc':
            cv, _, why = dkim.arc_verify(msg, dnsfunc=dns)
            print(fn, (cv or b'none').decode(), why)
        else:
            d = dkim.DKIM(msg)
            count = sum(1 for (k, v) in d.headers if k.lower() == b'dkim-signature')
            ok = count > 0 and all(d.verify(idx=i, dnsfunc=dns) for i in range(count))
            print(fn, 'pass' if ok else 'fail')
    except Exception as e:
        print(fn, 'fail', str(e).replace('\n', ' '))
""";

    /// <summary>Results per file name: "pass"/"fail" for DKIM, the cv for ARC.</summary>
    public static Dictionary<string, string> Verify(IReadOnlyDictionary<string, byte[]> messages, IReadOnlyDictionary<string, string> keyRecords, bool arc = false)
    {
        var dir = Directory.CreateTempSubdirectory("dkimpy-");
        try
        {
            var mail = Directory.CreateDirectory(Path.Combine(dir.FullName, "mail"));
            foreach (var (name, bytes) in messages) File.WriteAllBytes(Path.Combine(mail.FullName, name), bytes);
            var keys = Path.Combine(dir.FullName, "keys");
            File.WriteAllLines(keys, keyRecords.Select(k => k.Key + " " + k.Value));
            var script = Path.Combine(dir.FullName, "verify.py");
            File.WriteAllText(script, Script);
            var psi = new ProcessStartInfo("/usr/bin/python3", [script, mail.FullName, keys, arc ? "arc" : "dkim"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException("dkimpy failed: " + stderr.Result);
            return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', 3)).ToDictionary(a => a[0], a => a[1] + (a.Length > 2 ? " " + a[2] : ""));
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("DKIMPY_KEEP") is null) dir.Delete(recursive: true);
        }
    }
}
