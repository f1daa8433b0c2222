using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>
/// CertificateVerify (RFC 5246 §7.4.8): digitally-signed { handshake_messages } = SignatureAndHashAlgorithm(2)
/// + signature&lt;0..2^16-1&gt;. Verify with <see cref="DtlsSignatures.VerifyCertificateVerify"/> over the transcript
/// up to (excluding) this message.
/// </summary>
internal sealed class CertificateVerify : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.CertificateVerify;

    public SignatureScheme SignatureScheme { get; init; } = SignatureScheme.EcdsaSecp256r1Sha256;

    public byte[] Signature { get; init; } = [];

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out CertificateVerify? message)
    {
        message = null;
        var reader = new TlsReader(body);
        if (!reader.TryReadUInt16(out ushort scheme) || !reader.TryReadVector(2, 0, ushort.MaxValue, out ReadOnlySpan<byte> signature) ||
            !reader.IsEmpty)
        {
            return false;
        }

        message = new CertificateVerify { SignatureScheme = (SignatureScheme)scheme, Signature = signature.ToArray() };
        return true;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
        writer.WriteUInt16((ushort)SignatureScheme);
        writer.WriteVector(2, 0, ushort.MaxValue, Signature);
    }
}
