namespace CoapEnroll.Dtls;

/// <summary>Handshake message types (RFC 5246 §7.4, RFC 6347 §4.3.2 for <see cref="HelloVerifyRequest"/>).</summary>
internal enum HandshakeType : byte
{
    HelloRequest = 0,
    ClientHello = 1,
    ServerHello = 2,
    HelloVerifyRequest = 3,
    NewSessionTicket = 4,
    Certificate = 11,
    ServerKeyExchange = 12,
    CertificateRequest = 13,
    ServerHelloDone = 14,
    CertificateVerify = 15,
    ClientKeyExchange = 16,
    Finished = 20,
}
