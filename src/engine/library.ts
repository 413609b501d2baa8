/**
 * The library bundle's entry (`dist/wise-json.js`): `module.exports` is the WiseJSON class, with
 * everything else attached to it, so both of these work unchanged:
 *
 *   const WiseJSON = require('wise-json');
 *   const { connect, UniqueConstraintError } = require('wise-json');
 */
import * as engine from './index';

const WiseJSON = engine.WiseJSON as typeof engine.WiseJSON & typeof engine;
Object.assign(WiseJSON, engine);

export = WiseJSON;
