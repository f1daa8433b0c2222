namespace CoapEnroll.Cmp;

/// <summary>Whether a transaction could be opened.</summary>
internal enum CmpTransactionAddResult
{
    Added,
    InUse,
    TooManyForRequester,
    TooMany,
}
