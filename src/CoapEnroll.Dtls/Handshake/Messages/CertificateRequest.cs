using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// CertificateRequest (RFC 5246 §7.4.4): certificate_types&lt;1..2^8-1&gt;,
/// supported_signature_algorithms&lt;2..2^16-2&gt;, certificate_authorities&lt;0..2^16-1&gt; of
/// DistinguishedName&lt;1..2^16-1&gt; (DER names, not parsed here; may be empty).
/// </summary>
internal sealed class CertificateRequest : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.CertificateRequest;

    public IReadOnlyList<ClientCertificateType> CertificateTypes { get; init; } = [ClientCertificateType.EcdsaSign];

    public IReadOnlyList<SignatureScheme> SignatureAlgorithms { get; init; } = [SignatureScheme.EcdsaSecp256r1Sha256];

    public IReadOnlyList<byte[]> CertificateAuthorities { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out CertificateRequest? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadVector(1, 1, byte.MaxValue, out ReadOnlySpan<byte> types) ||
            !TlsExtensions.TryReadUInt16Vector(ref reader, 2, ushort.MaxValue - 1, out ushort[]? schemes) ||
            !reader.TryReadVector(2, 0, ushort.MaxValue, out ReadOnlySpan<byte> authorities) ||
            !reader.IsEmpty)
        {
            return false;
        }

        var names = new List<byte[]>();
        var inner = new TlsReader(authorities);
        while (!inner.IsEmpty)
        {
            if (!inner.TryReadVector(2, 1, ushort.MaxValue, out ReadOnlySpan<byte> name))
            {
                return false;
            }

            names.Add(name.ToArray());
        }

        message = new CertificateRequest
        {
            CertificateTypes = types.ToArray().Select(t => (ClientCertificateType)t).ToArray(),
            SignatureAlgorithms = schemes.Select(s => (SignatureScheme)s).ToArray(),
            CertificateAuthorities = names,
        };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        writer.WriteVector(1, 1, byte.MaxValue, CertificateTypes.Select(t => (byte)t).ToArray());
        TlsExtensions.WriteUInt16Vector(writer, SignatureAlgorithms.Select(s => (ushort)s), 2, ushort.MaxValue - 1);
        int start = writer.BeginVector(2);
        foreach (byte[] name in CertificateAuthorities)
        {
            writer.WriteVector(2, 1, ushort.MaxValue, name);
        }

        writer.EndVector(start, 2, 0, ushort.MaxValue);
    }
}
