namespace CoapEnroll.Ca;

/// <summary>A store write violated a uniqueness or state rule; nothing was written.</summary>
public sealed class CertificateStoreConflictException : Exception
{
    public CertificateStoreConflictException()
        : this(StoreConflict.RequestState, "store conflict")
    {
    }

    public CertificateStoreConflictException(string message)
        : this(StoreConflict.RequestState, message)
    {
    }

    public CertificateStoreConflictException(string message, Exception innerException)
        : this(StoreConflict.RequestState, message, innerException)
    {
    }

    public CertificateStoreConflictException(StoreConflict conflict, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Conflict = conflict;
    }

    /// <summary>Which rule.</summary>
    public StoreConflict Conflict { get; }
}
