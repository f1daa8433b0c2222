using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    /// <summary>
    /// Where MAC references not configured in <see cref="CmpServerOptions.SharedSecrets"/> are looked up (operator-managed secrets,
    /// <c>coapenroll cmp secrets</c>), or null for configuration only. A configured reference hides a stored one of the same name.
    /// </summary>
    public ISharedSecretStore? SharedSecretStore { get; init; }

    /// <summary>The secret and grant of a MAC reference: configuration first, then the store (with its row, for the life-cycle checks).</summary>
    private async Task<(byte[] Secret, SharedSecretGrant Grant, StoredSharedSecret? Stored)?> FindSecretAsync(string reference, CancellationToken cancellationToken)
    {
        if (Options.SharedSecrets.TryGetValue(reference, out CmpSharedSecretOptions? configured))
        {
            return configured.Secret is { Length: > 0 } text
                ? (Encoding.UTF8.GetBytes(text), new SharedSecretGrant { Profile = configured.Profile, Subject = configured.Subject, AnyName = configured.AnyName }, null)
                : null;
        }

        if (SharedSecretStore is null || reference.Length > StoredSharedSecret.MaxReferenceLength)
        {
            return null;
        }

        StoredSharedSecret? stored = await SharedSecretStore.GetSharedSecretAsync(reference, cancellationToken);
        return stored is null
            ? null
            : (stored.Secret, new SharedSecretGrant { Profile = stored.Profile, Subject = stored.Subject, AnyName = stored.AnyName }, stored);
    }

    /// <summary>
    /// Why a stored secret whose MAC verified may not start this message's transaction, or null. An expired secret or a used
    /// one-time secret starts nothing new; the messages that continue an open transaction (certConf, pollReq, error) are judged
    /// by that transaction, which a secret valid at its start opened (a device polls for days while an operator decides).
    /// </summary>
    private async Task<string?> StoredSecretProblemAsync(CmpExchange exchange, StoredSharedSecret stored, CancellationToken cancellationToken)
    {
        if (IsContinuation(exchange.Request.Body.BodyType) && await ReadTransactionAsync(exchange, cancellationToken) is not null)
        {
            return null;
        }

        if (stored.IsExpired(_time.GetUtcNow()))
        {
            return $"the shared secret '{PrintableText.Escape(stored.Reference)}' expired at {stored.ExpiresAt:u}";
        }

        return stored.IsConsumed
            ? $"the one-time shared secret '{PrintableText.Escape(stored.Reference)}' was used by an earlier enrollment ({stored.ConsumedAt:u})"
            : null;
    }

    /// <summary>
    /// Consumes the request's one-time secret for this transaction before anything is issued, so that two enrollments racing
    /// with one code cannot both succeed. False when another enrollment consumed it first.
    /// </summary>
    private async Task<bool> ConsumeOneTimeSecretAsync(CmpExchange exchange, CancellationToken cancellationToken)
    {
        if (!exchange.OneTimeSecret || SharedSecretStore is null)
        {
            return true;
        }

        return await SharedSecretStore.TryConsumeSharedSecretAsync(exchange.Reference!, exchange.TransactionId, new AuditEntry
        {
            Actor = exchange.Who,
            Action = "secret-consumed",
            Details = $"one-time CMP secret '{exchange.Reference}' used by {Name(exchange.Request.Body.BodyType)} transaction {exchange.TransactionId} ({exchange.Context.FrontEnd})",
        }, cancellationToken);
    }

    /// <summary>Gives the one-time secret back when its enrollment obtained nothing (refused, or failed).</summary>
    private async Task ReleaseOneTimeSecretAsync(CmpExchange exchange, CancellationToken cancellationToken)
    {
        if (exchange.OneTimeSecret && SharedSecretStore is not null)
        {
            await SharedSecretStore.ReleaseSharedSecretAsync(exchange.Reference!, exchange.TransactionId, cancellationToken);
        }
    }
}
