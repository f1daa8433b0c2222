using System.Security.Cryptography;
using CoapEnroll.Ca;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>Helpers for a CA key on a SoftHSM2 token whose sessions a test closes.</summary>
public static class TokenKey
{
    /// <summary>
    /// Signs through <paramref name="key"/> (ECDSA) until its reconnect has happened: the key tries at most once a second, so a test
    /// that loses the sessions again waits here, and the next loss is noticed by the request under test rather than by that limit.
    /// Gives up after about 20 s.
    /// </summary>
    public static async Task WaitUntilReconnectedAsync(CaSigningKey key)
    {
        (key as Ca.Pkcs11.Pkcs11SigningKey)?.ReleaseReconnect();
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using CaSigningLease lease = await key.AcquireAsync(CancellationToken.None);
                ((ECDsa)lease.Key).SignHash(new byte[32]);
                return;
            }
            catch (CaKeyUnavailableException) when (attempt < 100)
            {
                await Task.Delay(200);
            }
        }
    }
}
