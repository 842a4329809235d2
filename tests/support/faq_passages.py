"""Six short collections-FAQ passages (Spanish and English) the embedder tests rank."""

from __future__ import annotations

PASSAGES = [
    "Puede pagar su deuda en cualquier sucursal de Servipag, en Caja Vecina de BancoEstado "
    "o en línea en www.cobranzas-ejemplo.cl con tarjeta de débito o crédito.",
    "Los intereses por mora se calculan al 1,5% mensual sobre el saldo vencido; el monto "
    "total con intereses aparece en su estado de cuenta.",
    "Puede repactar su deuda en hasta 12 cuotas sin pie si está al día con su último pago.",
    "Our customer service hours are Monday to Friday, 9 am to 6 pm, and Saturdays from "
    "10 am to 1 pm.",
    "Una vez pagada la deuda, su nombre se elimina de DICOM en un plazo de 7 días hábiles.",
    "If you believe this debt is not yours, you can dispute it by emailing "
    "disputas@ejemplo.cl with a copy of your ID.",
]
