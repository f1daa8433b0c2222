using System.Net;
using CoapEnroll.Dtls;

namespace CoapEnroll.Fuzz;

/// <summary>
/// What a DTLS server does with a datagram from an unknown peer before it keeps any state (RFC 6347 §4.2.1): the records,
/// the handshake header, the stateless cookie, then the ClientHello and each extension the server reads. A cookie made
/// for a ClientHello must verify once written into it; a parsed ClientHello must encode to one that parses to the same.
/// </summary>
internal sealed class DtlsClientHelloTarget : IFuzzTarget
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("192.0.2.7"), 50123);
    private static readonly HelloCookieProtector Cookies = new(TimeSpan.FromDays(1));

    public string Name => "dtls-clienthello";

    public string Description => "datagram -> records -> HelloCookieProtector -> ClientHello.TryParse -> extension parsers";

    public void Run(ReadOnlySpan<byte> input)
    {
        var reader = new DtlsRecordReader(input, 0);
        while (reader.TryRead(out DtlsRecord record))
        {
            if (record.Epoch != 0 || record.ContentType != ContentType.Handshake ||
                !HandshakeHeader.TryRead(record.Payload, out HandshakeHeader header, out ReadOnlySpan<byte> body, out _) ||
                header.Type != HandshakeType.ClientHello || !header.IsComplete)
            {
                continue;
            }

            CheckCookie(body);
            Parse(body);
        }
    }

    private static void CheckCookie(ReadOnlySpan<byte> body)
    {
        Cookies.Verify(Client, body);
        Span<byte> cookie = stackalloc byte[HelloCookieProtector.CookieLength];
        if (!Cookies.TryCreateCookie(Client, body, cookie))
        {
            return;
        }

        if (!ClientHello.TryLocateCookie(body, out int offset, out int length))
        {
            throw new FuzzInvariantException("a cookie was made for a ClientHello whose cookie field cannot be found");
        }

        byte[] withCookie = [.. body[..(offset - 1)], (byte)cookie.Length, .. cookie, .. body[(offset + length)..]];
        if (!Cookies.Verify(Client, withCookie))
        {
            throw new FuzzInvariantException("the ClientHello carrying the cookie made for it does not verify");
        }

        if (Cookies.Verify(new IPEndPoint(Client.Address, Client.Port + 1), withCookie))
        {
            throw new FuzzInvariantException("a cookie verifies for another port");
        }
    }

    private static void Parse(ReadOnlySpan<byte> body)
    {
        if (!ClientHello.TryParse(body, out ClientHello? hello))
        {
            return;
        }

        foreach (TlsExtension extension in hello.Extensions)
        {
            switch (extension.Type)
            {
                case ExtensionType.SupportedGroups:
                    TlsExtensions.TryParseSupportedGroups(extension.Data, out _);
                    break;
                case ExtensionType.EcPointFormats:
                    TlsExtensions.TryParseEcPointFormats(extension.Data, out _);
                    break;
                case ExtensionType.SignatureAlgorithms:
                    TlsExtensions.TryParseSignatureAlgorithms(extension.Data, out _);
                    break;
                case ExtensionType.ConnectionId:
                    TlsExtensions.TryParseConnectionId(extension.Data, out _);
                    break;
                case ExtensionType.ServerName:
                    TlsExtensions.TryParseServerName(extension.Data, out _);
                    break;
                case ExtensionType.RenegotiationInfo:
                    TlsExtensions.IsInitialRenegotiationInfo(extension.Data);
                    break;
            }
        }

        DtlsHandshakeTarget.CheckReencoding(hello, ClientHello.TryParse);
    }
}
