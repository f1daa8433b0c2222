using CoapEnroll.Dtls;

namespace CoapEnroll.Fuzz;

/// <summary>
/// ClientKeyExchange as the DTLS server handles it: ECDHE (RFC 8422 §5.7; the point must be a valid uncompressed P-256
/// point, anything else is refused) when the first byte is even, PSK (RFC 4279 §2; the identity, then the premaster
/// secret) when odd.
/// </summary>
internal sealed class DtlsClientKeyExchangeTarget : IFuzzTarget
{
    private static readonly EcdheKeyExchange ServerKey = EcdheKeyExchange.Create();
    private static readonly byte[] Psk = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];

    public string Name => "dtls-clientkeyexchange";

    public string Description => "EcdheClientKeyExchange + EcdheKeyExchange.TryDeriveSharedSecret, PskClientKeyExchange";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        ReadOnlySpan<byte> body = input[1..];
        if ((input[0] & 1) == 0)
        {
            if (EcdheClientKeyExchange.TryParse(body, out EcdheClientKeyExchange? ecdhe))
            {
                Span<byte> preMaster = stackalloc byte[EcdheKeyExchange.SharedSecretLength];
                if (ServerKey.TryDeriveSharedSecret(ecdhe.PublicPoint, preMaster) && ecdhe.PublicPoint.Length != EcdheKeyExchange.PointLength)
                {
                    throw new FuzzInvariantException($"a {ecdhe.PublicPoint.Length}-byte point was accepted");
                }
            }
        }
        else if (PskClientKeyExchange.TryParse(body, out PskClientKeyExchange? psk) && psk.Identity.Length > 0)
        {
            byte[] preMaster = new byte[DtlsKeySchedule.GetPskPreMasterSecretLength(Psk.Length)];
            DtlsKeySchedule.WritePskPreMasterSecret(Psk, preMaster);
        }
    }
}
