using System.Buffers.Binary;
using System.Text;

namespace Assp.Checks.Tests.Checks;

/// <summary>Builds winmail.dat streams and mails carrying them (also linked into the end-to-end tests).</summary>
public static class TnefSample
{
    /// <summary>A TNEF stream (MS-OXTNEF): signature, key, then level/tag/length/data/checksum attributes.</summary>
    public static byte[] Tnef(params (string Name, byte[] Data)[] files)
    {
        var ms = new MemoryStream();
        void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); ms.Write(b); }
        void Attr(byte level, uint tag, byte[] data)
        {
            ms.WriteByte(level);
            U32(tag);
            U32((uint)data.Length);
            ms.Write(data);
            int sum = 0;
            foreach (var x in data) sum += x;
            ms.WriteByte((byte)sum);
            ms.WriteByte((byte)(sum >> 8));
        }
        U32(0x223E9F78);
        ms.Write([0x01, 0x00]);
        Attr(1, 0x00089006, [0, 0, 1, 0]);                                       // attTnefVersion
        Attr(1, 0x00078008, Encoding.ASCII.GetBytes("IPM.Microsoft Mail.Note\0")); // attMessageClass
        Attr(1, 0x0002800C, Encoding.ASCII.GetBytes("Please see the files.\r\n")); // attBody
        foreach (var (name, data) in files)
        {
            Attr(2, 0x00069002, new byte[14]);                                   // attAttachRendData
            Attr(2, 0x00018010, Encoding.ASCII.GetBytes(name + "\0"));            // attAttachTitle
            Attr(2, 0x0006800F, data);                                            // attAttachData
        }
        return ms.ToArray();
    }

    public static string TnefMail(byte[] tnef, string type = "application/ms-tnef", string rcpt = "u@local.test") =>
        $"From: a@sender.example\nTo: {rcpt}\nSubject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
        + "--XX\nContent-Type: text/plain\n\nsee attached\n--XX\n"
        + $"Content-Type: {type}; name=\"winmail.dat\"\nContent-Disposition: attachment; filename=\"winmail.dat\"\n"
        + $"Content-Transfer-Encoding: base64\n\n{Convert.ToBase64String(tnef, Base64FormattingOptions.InsertLineBreaks)}\n--XX--\n";
}
