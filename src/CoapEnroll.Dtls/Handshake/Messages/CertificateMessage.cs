using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// Certificate (RFC 5246 §7.4.2): certificate_list&lt;0..2^24-1&gt; of ASN.1Cert&lt;1..2^24-1&gt;, leaf first.
/// The DER is not parsed here (build X509Certificate2 / X509Chain from <see cref="Certificates"/>).
/// An empty list is a client declining to authenticate. RFC 7250 raw public keys are not supported.
/// </summary>
internal sealed class CertificateMessage : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.Certificate;

    /// <summary>DER certificates, sender's own first.</summary>
    public IReadOnlyList<byte[]> Certificates { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out CertificateMessage? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadVector(3, 0, HandshakeHeader.MaxLength, out ReadOnlySpan<byte> list) || !reader.IsEmpty)
        {
            return false;
        }

        var certificates = new List<byte[]>();
        var inner = new TlsReader(list);
        while (!inner.IsEmpty)
        {
            if (!inner.TryReadVector(3, 1, HandshakeHeader.MaxLength, out ReadOnlySpan<byte> certificate))
            {
                return false;
            }

            certificates.Add(certificate.ToArray());
        }

        message = new CertificateMessage { Certificates = certificates };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        int start = writer.BeginVector(3);
        foreach (byte[] certificate in Certificates)
        {
            writer.WriteVector(3, 1, HandshakeHeader.MaxLength, certificate);
        }

        writer.EndVector(start, 3, 0, HandshakeHeader.MaxLength);
    }
}
