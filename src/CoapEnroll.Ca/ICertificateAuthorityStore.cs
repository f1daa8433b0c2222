namespace CoapEnroll.Ca;

/// <summary>
/// What a host opens for its CA: the certificate store with the operator's shared secrets in the same database, so that adding a
/// secret and its audit entry is one transaction, and the open protocol transactions that any node may continue. <see cref="SqliteCertificateStore"/> and the PostgreSQL store implement it.
/// </summary>
public interface ICertificateAuthorityStore : ICertificateStore, ISharedSecretStore, ITransactionStore
{
}
