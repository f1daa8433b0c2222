using System.Data.Common;

namespace CoapEnroll.Ca;

/// <summary>
/// Something the CA needs cannot be reached for now (its key on a token, its store): nothing was signed or kept, and the same
/// request may succeed later. EST answers 5.03 or 503 with a retry time, CMP an error with failInfo systemUnavail.
/// </summary>
public abstract class CaUnavailableException : Exception
{
    /// <summary>Seconds a client waits before it tries again (Max-Age, Retry-After), unless an exception says otherwise.</summary>
    public const uint DefaultRetryAfterSeconds = 5;

    protected CaUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Seconds a client waits before it tries again.</summary>
    public uint RetryAfterSeconds { get; init; } = DefaultRetryAfterSeconds;

    /// <summary>
    /// What a client is told, with nothing of the deployment in it ("the CA key is unavailable"); <see cref="Exception.Message"/>
    /// has the details, for the log.
    /// </summary>
    public abstract string ClientReason { get; }

    /// <summary>
    /// <paramref name="exception"/> as an outage: itself when it is one, a <see cref="CertificateStoreUnavailableException"/> when
    /// it (or an exception inside it) is a store failure that another attempt may not meet (<see cref="CertificateStoreUnavailableException.IsOutage"/>),
    /// else null: a failure of the server's own.
    /// </summary>
    public static CaUnavailableException? From(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case CaUnavailableException unavailable:
                    return unavailable;
                case DbException store when CertificateStoreUnavailableException.IsOutage(store):
                    return new CertificateStoreUnavailableException($"the certificate store is unavailable: {store.Message}", store);
            }
        }

        return null;
    }
}
