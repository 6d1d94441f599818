'use strict';
// Never returns: the chain's watchdog must cut it off (budget 100 ms).
module.exports = { name: 'spin-forever', version: '1.0.0', decide() { for (;;); } };
