using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

using CoapEnroll.Dtls;

namespace CoapEnroll.Fuzz;

/// <summary>
/// Every DTLS 1.2 handshake message parser, server and client side (RFC 5246 §7.4, RFC 6347 §4.3.2, RFC 4279, RFC 8422):
/// the first byte picks the message type, the rest is the body. A message that parses must encode to one that parses to
/// the same; signatures and Finished are checked the way the connection checks them.
/// </summary>
internal sealed class DtlsHandshakeTarget : IFuzzTarget
{
    private static readonly ECDsa DeviceKey = System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.GetECDsaPublicKey(FuzzKeys.Device)!;
    private static readonly byte[] MasterSecret = new byte[48];

    internal delegate bool Parser<T>(ReadOnlySpan<byte> body, [NotNullWhen(true)] out T? message);

    public string Name => "dtls-handshake";

    public string Description => "TryParse of every handshake message (first byte = type) with re-encoding, CertificateVerify, Finished";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        ReadOnlySpan<byte> body = input[1..];
        switch ((HandshakeType)input[0])
        {
            case HandshakeType.ClientHello:
                Check<ClientHello>(body, ClientHello.TryParse);
                break;
            case HandshakeType.ServerHello:
                if (Check<ServerHello>(body, ServerHello.TryParse) is { } serverHello &&
                    TlsExtensions.Find(serverHello.Extensions, ExtensionType.ConnectionId) is { } cid)
                {
                    TlsExtensions.TryParseConnectionId(cid.Data, out _);
                }

                break;
            case HandshakeType.HelloVerifyRequest:
                Check<HelloVerifyRequest>(body, HelloVerifyRequest.TryParse);
                break;
            case HandshakeType.Certificate:
                Check<CertificateMessage>(body, CertificateMessage.TryParse);
                break;
            case HandshakeType.ServerKeyExchange:
                if (Check<EcdheServerKeyExchange>(body, EcdheServerKeyExchange.TryParse) is { } ske)
                {
                    byte[] parameters = EcdheServerKeyExchange.EncodeParameters(ske.Group, ske.PublicPoint);
                    DtlsSignatures.VerifyServerKeyExchange(DeviceKey, ske.SignatureScheme, new byte[32], new byte[32], parameters, ske.Signature);
                }

                Check<PskServerKeyExchange>(body, PskServerKeyExchange.TryParse);
                break;
            case HandshakeType.CertificateRequest:
                Check<CertificateRequest>(body, CertificateRequest.TryParse);
                break;
            case HandshakeType.ServerHelloDone:
                Check<ServerHelloDone>(body, ServerHelloDone.TryParse);
                break;
            case HandshakeType.CertificateVerify:
                if (Check<CertificateVerify>(body, CertificateVerify.TryParse) is { } verify)
                {
                    DtlsSignatures.IsWellFormedSignature(verify.Signature, 256);
                    DtlsSignatures.VerifyCertificateVerify(DeviceKey, verify.SignatureScheme, body, verify.Signature);
                }

                break;
            case HandshakeType.ClientKeyExchange:
                Check<EcdheClientKeyExchange>(body, EcdheClientKeyExchange.TryParse);
                Check<PskClientKeyExchange>(body, PskClientKeyExchange.TryParse);
                break;
            case HandshakeType.Finished:
                if (Check<Finished>(body, Finished.TryParse) is { } finished)
                {
                    DtlsKeySchedule.VerifyFinished(MasterSecret, fromClient: true, new byte[32], finished.VerifyData);
                }

                break;
        }
    }

    private static T? Check<T>(ReadOnlySpan<byte> body, Parser<T> parse)
        where T : HandshakeMessage
    {
        if (!parse(body, out T? message))
        {
            return null;
        }

        CheckReencoding(message, parse);
        return message;
    }

    /// <summary>A parsed message encodes to a body that parses, and that encodes to the same bytes.</summary>
    internal static void CheckReencoding<T>(T message, Parser<T> parse)
        where T : HandshakeMessage
    {
        byte[] encoded = message.Encode();
        if (!parse(encoded, out T? again))
        {
            throw new FuzzInvariantException($"a parsed {typeof(T).Name} encodes to a body that does not parse");
        }

        if (!again.Encode().AsSpan().SequenceEqual(encoded))
        {
            throw new FuzzInvariantException($"a {typeof(T).Name} encodes differently after a round trip");
        }
    }
}
