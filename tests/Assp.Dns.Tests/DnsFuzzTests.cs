using System.Buffers.Binary;
using System.Text;
using Assp.Fuzzing;

namespace Assp.Dns.Tests;

/// <summary>
/// Hostile packets for the DNS message parser: real queries and answers (A, AAAA, MX, TXT, CNAME, PTR, SOA, SRV,
/// with name compression) mutated, plus random bytes. The documented outcome is a DnsParseError; nothing throws.
/// </summary>
public class DnsFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static byte[] Query(string name, DnsRecordType type)
    {
        var buffer = new byte[1024];
        int n = DnsMessageWriter.WriteQuery(buffer, 0x1234, name, type, 1232);
        return buffer.AsSpan(0, n).ToArray();
    }

    /// <summary>The query turned into a response with these records (owner = pointer to the question name).</summary>
    private static byte[] Response(string name, DnsRecordType type, params (DnsRecordType Type, byte[] Rdata)[] records)
    {
        var q = Query(name, type);
        int qEnd = 12;
        while (q[qEnd] != 0) qEnd += q[qEnd] + 1;
        qEnd += 5;
        var p = new List<byte>(q.AsSpan(0, qEnd).ToArray());
        BinaryPrimitives.WriteUInt16BigEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(p)[2..], 0x8180);
        p[6] = 0; p[7] = (byte)records.Length;
        p[10] = 0; p[11] = 0;
        foreach (var (t, rdata) in records)
        {
            p.AddRange([0xC0, 12, (byte)((ushort)t >> 8), (byte)t, 0, 1, 0, 0, 0x0E, 0x10, (byte)(rdata.Length >> 8), (byte)rdata.Length]);
            p.AddRange(rdata);
        }
        return p.ToArray();
    }

    private static byte[] Name(string name) =>
        [.. name.Split('.', StringSplitOptions.RemoveEmptyEntries).SelectMany(l => new[] { (byte)l.Length }.Concat(Encoding.ASCII.GetBytes(l))), 0];

    private static readonly byte[][] Seeds =
    [
        Query("victim.example.com", DnsRecordType.A),
        Response("2.0.0.127.zen.example", DnsRecordType.A, (DnsRecordType.A, [127, 0, 0, 2]), (DnsRecordType.A, [127, 0, 0, 10])),
        Response("host.example", DnsRecordType.AAAA, (DnsRecordType.AAAA, [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
        Response("example.com", DnsRecordType.MX, (DnsRecordType.MX, [0, 10, .. Name("mx1.example.com")]), (DnsRecordType.MX, [0, 20, 3, (byte)'m', (byte)'x', (byte)'2', 0xC0, 12])),
        Response("example.com", DnsRecordType.TXT, (DnsRecordType.TXT, [.. new[] { (byte)25 }, .. "v=spf1 ip4:192.0.2.0/24 -a"u8.ToArray()[..25], 3, (byte)'a', (byte)'l', (byte)'l'])),
        Response("www.example.com", DnsRecordType.A, (DnsRecordType.CNAME, Name("web.example.net")), (DnsRecordType.A, [192, 0, 2, 80])),
        Response("7.2.0.192.in-addr.arpa", DnsRecordType.PTR, (DnsRecordType.PTR, Name("mail.example.com"))),
        Response("example.com", DnsRecordType.SOA, (DnsRecordType.SOA, [.. Name("ns1.example.com"), .. Name("hostmaster.example.com"), 0, 0, 0, 1, 0, 0, 0x0E, 0x10, 0, 0, 0x07, 0x08, 0, 0x09, 0x3A, 0x80, 0, 0, 0x0E, 0x10])),
        Response("_sip._tcp.example.com", DnsRecordType.SRV, (DnsRecordType.SRV, [0, 1, 0, 5, 0x13, 0xC4, .. Name("sip.example.com")])),
    ];

    private static readonly byte[] Interesting = [0, 1, 0x3F, 0x40, 0x7F, 0x80, 0xC0, 0xC0 | 0x3F, 0xFF, 12, 63, 64];

    [Fact]
    public void Mutated_and_random_packets_give_a_parse_result_never_an_exception()
    {
        long parsed = 0, refused = 0;
        var runs = FuzzRun.For(FuzzRun.Mutations(Seeds, Interesting), data =>
        {
            var error = DnsMessageReader.TryParse(data, out var message);
            if (error == DnsParseError.None)
            {
                Assert.NotNull(message);
                foreach (var r in message!.Answers.Concat(message.Authority)) _ = r.ToString();
                Interlocked.Increment(ref parsed);
            }
            else
            {
                Assert.True(Enum.IsDefined(error));
                Interlocked.Increment(ref refused);
            }
        }, maxBytesPerInput: 16L << 20);
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
        Assert.True(parsed > 0 && refused > 0, $"parsed {parsed}, refused {refused}: the mutations do not reach both outcomes");
    }

    [Fact]
    public void The_seeds_are_real_packets_the_parser_accepts()
    {
        foreach (var seed in Seeds) Assert.Equal(DnsParseError.None, DnsMessageReader.TryParse(seed, out _));
    }
}
