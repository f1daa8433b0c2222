using System.Diagnostics.CodeAnalysis;

namespace CoapEnroll.Dtls;

/// <summary>ServerHelloDone (RFC 5246 §7.4.5): an empty body; anything else is rejected.</summary>
internal sealed class ServerHelloDone : HandshakeMessage
{
    public override HandshakeType Type => HandshakeType.ServerHelloDone;

    public static bool TryParse(ReadOnlySpan<byte> body, [NotNullWhen(true)] out ServerHelloDone? message)
    {
        message = body.IsEmpty ? new ServerHelloDone() : null;
        return message is not null;
    }

    private protected override void WriteBody(TlsWriter writer)
    {
    }
}
